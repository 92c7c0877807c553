import Foundation
import Testing
@testable import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage
import WaterHubTestSupport

/// A large CSV file is routed in parts at once; the spools, counts and lines must come out
/// exactly as from one pass over the file.
@Suite struct RoutingPartsTests {
    struct Routed {
        var counts: BatchCounts
        var perTenant: [String: Int]
        /// Every spool of the batch, byte for byte: each town's (read through the index, by
        /// NIS code) and the quarantine's.
        var spools: [String: Data]
        /// Whether the hub read the file in parts (rather than in one pass).
        var split: Bool
    }

    /// Routes `file` with a hub that reads it in `parts` parts (files of any size are split).
    func route(_ file: String, source: SourceConfiguration, parts: Int) throws -> Routed {
        let directory = TemporaryDirectory("parts-\(parts)")
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.sources = [source]
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger,
                          routingParts: parts, routingPartMinimumBytes: 0)
        let archived = "\(directory.path)/archived"
        try FileManager.default.copyItem(atPath: file, toPath: archived)
        let (delivery, batch) = try hub.ledger.recordDelivery(source: source.id, sha256: try DatabaseFiles.sha256(ofFile: archived),
                                                              bytes: 1, archivePath: archived, fetchID: nil)
        guard case .routed(let counts, let perTenant, _) = try hub.route(batchID: batch, delivery: delivery, source: source) else {
            throw CommandFailure("held")
        }
        let folder = hub.directory.spool(batch: batch)
        var spools = try SpoolIndex(folder: folder).towns.mapValues { segments in
            try segments.reduce(into: Data()) { spool, segment in
                let file = try Data(contentsOf: URL(fileURLWithPath: segment.path))
                spool += file[Int(segment.offset)..<Int(segment.offset) + segment.count!]
            }
        }
        spools["quarantine"] = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/quarantine.spool"))
        let probe = "\(directory.path)/probe"
        try FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        let context = RoutingContext(path: archived, sourceID: source.id, dialect: source.dialect,
                                     router: Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode))),
                                     rules: configuration.rules, today: hub.today)
        let split = try hub.routeInParts(context, folder: probe) != nil
        // Nothing else: one file of town spools per part routed, the index, the quarantine.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["quarantine.spool", "towns.index", "towns.spool"] + (split ? (1..<parts).map { "towns.spool.part\($0)" } : []))
        return Routed(counts: counts, perTenant: perTenant, spools: spools, split: split)
    }

    @Test func theDemoFeedsRouteInPartsExactlyAsInOnePass() throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let csv = configuration.sources.filter { $0.dialect.format == .csv }
        #expect(csv.count == 3)
        for source in csv {
            let file = try #require(FileManager.default.contentsOfDirectory(atPath: Repository.demoFeeds)
                .first { $0.hasPrefix(source.id) && $0.hasSuffix(".csv") })
            let path = "\(Repository.demoFeeds)/\(file)"
            let whole = try route(path, source: source, parts: 1)
            let parts = try route(path, source: source, parts: 3)
            #expect(!whole.split && parts.split, "\(source.id)")
            #expect(whole.counts == parts.counts && whole.perTenant == parts.perTenant, "\(source.id)")
            #expect(whole.spools == parts.spools, "\(source.id): the spools differ")
            #expect(whole.counts.routed > 0 && whole.counts.balances)
        }
    }

    /// Quoted line breaks and quotes, bad rows and rows outside the region in every part.
    func feed(repeating repeated: Int? = nil) -> CanonicalFeed {
        var feed = CanonicalFeed()
        for index in 0..<90 {
            let postalCode = index % 11 == 0 ? "1000" : (index % 2 == 0 ? "2000" : "9000")
            let id = repeated.map { index == 80 ? "R\($0)" : "R\(index)" } ?? "R\(index)"
            feed.add(id, date: index % 13 == 5 ? "2026-02-30" : "2026-11-16", customer: "C\(index % 17)", postalCode: postalCode)
            if index % 3 == 0 { feed.rows[index][.note] = "two\r\nlines, \"quoted\" \(index)" }
        }
        return feed
    }

    /// Routes a canonical feed in one pass and in 3 parts, and expects the same result: the
    /// one-pass result.
    func routeWholeAndInThreeParts(_ feed: CanonicalFeed) throws -> Routed {
        let directory = TemporaryDirectory("parts-feed")
        let path = directory.write("feed.csv", Data(feed.bytes))
        let source = canonicalSource(url: "file://\(path)")
        let whole = try route(path, source: source, parts: 1)
        let parts = try route(path, source: source, parts: 3)
        #expect(parts.split)
        #expect(whole.counts == parts.counts && whole.perTenant == parts.perTenant)
        #expect(whole.spools == parts.spools)
        return whole
    }

    @Test func quotedLineBreaksAndBadRowsInEveryPartComeOutAsInOnePass() throws {
        let whole = try routeWholeAndInThreeParts(feed())
        #expect(whole.counts.quarantined == 7 && whole.counts.outsideRegion == 8)
    }

    /// One pass puts the second row with an id in quarantine; parts that each saw the id once
    /// cannot, so the file is routed again in one pass.
    @Test func anIDRepeatedAcrossPartsFallsBackToOnePass() throws {
        let directory = TemporaryDirectory("parts-repeat")
        let path = directory.write("feed.csv", Data(feed(repeating: 4).bytes))
        let source = canonicalSource(url: "file://\(path)")
        let whole = try route(path, source: source, parts: 1)
        let parts = try route(path, source: source, parts: 3)
        #expect(!parts.split)
        #expect(whole.counts == parts.counts && whole.spools == parts.spools)
        #expect(whole.counts.quarantined == 8)
    }

    /// Each part writes its towns' spools as chunks of one file (`SpoolChunks`); a town with
    /// many chunks in every part must come out with its records in file order.
    @Test func townSpoolsOfManyChunksInEveryPartComeOutAsInOnePass() throws {
        var feed = CanonicalFeed()
        for index in 0..<3_000 {
            feed.add("L\(index)", date: "2026-11-16", customer: "C\(index % 97)", postalCode: index % 3 == 0 ? "2000" : "9000")
            feed.rows[index][.note] = "row \(index) " + String(repeating: "x", count: 150 + index % 50)
        }
        let whole = try routeWholeAndInThreeParts(feed)
        // Each town's spool is many times the 16 KiB a writer buffers: several chunks per part.
        #expect(whole.spools.values.filter { $0.count > 6 * 16_384 }.count == 2)
    }
}
