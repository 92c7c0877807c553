import Foundation
import Testing
@testable import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage
import WaterHubTestSupport

/// Spools are not forced to disk; one lost to a power cut is written again from the raw file.
@Suite struct SpoolRecoveryTests {
    /// Routes a 40-row feed into a batch and stops there, as a crash after routing would.
    func routedButNotApplied(_ directory: TemporaryDirectory) async throws -> (Hub, Int64) {
        var feed = CanonicalFeed()
        for index in 0..<40 { feed.add("S\(index)", customer: "C\(index)", postalCode: index % 2 == 0 ? "2000" : "9000") }
        let path = directory.write("feed.csv", Data(feed.bytes))
        let hub = try makeHub(sources: [canonicalSource(url: "file://\(path)")], directory: directory)
        let archived = "\(directory.path)/archived.csv"
        try FileManager.default.copyItem(atPath: path, toPath: archived)
        let (delivery, batch) = try hub.ledger.recordDelivery(source: "testwater", sha256: try DatabaseFiles.sha256(ofFile: archived),
                                                              bytes: 1, archivePath: archived, fetchID: nil)
        guard case .routed(let counts, let perTenant, _) = try hub.route(batchID: batch, delivery: delivery, source: hub.configuration.sources[0]) else {
            throw CommandFailure("not routed")
        }
        let quarantine = try SpoolReader(path: "\(hub.directory.spool(batch: batch))/quarantine.spool")
        try hub.ledger.completeRouting(batchID: batch, counts: counts, eventsPerTenant: perTenant, quarantine: quarantine)
        return (hub, batch)
    }

    /// The towns' spools of the batch (one file, the feed being small) or their index lost.
    @Test(arguments: ["towns.spool", SpoolIndex.fileName])
    func aLostSpoolIsRegeneratedFromTheRawFile(lost: String) async throws {
        let directory = TemporaryDirectory("spool-lost")
        let (hub, batch) = try await routedButNotApplied(directory)
        try FileManager.default.removeItem(atPath: "\(hub.directory.spool(batch: batch))/\(lost)")
        try await hub.finishUnfinishedBatches()
        #expect(try hub.ledger.batch(batch)?.status == .applied)
        #expect(try await hub.registry.database("44021")!.eventCount() == 20)
        #expect(try await hub.registry.database("11002")!.eventCount() == 20)
        #expect(try await hub.verify().problems.isEmpty)
    }

    @Test func aSpoolCutShortIsRegeneratedAndNothingIsStoredTwice() async throws {
        let directory = TemporaryDirectory("spool-cut")
        let (hub, batch) = try await routedButNotApplied(directory)
        let spool = "\(hub.directory.spool(batch: batch))/towns.spool"
        let handle = try #require(FileHandle(forUpdatingAtPath: spool))
        try handle.truncate(atOffset: 300)
        try handle.close()
        try await hub.finishUnfinishedBatches()
        #expect(try await hub.registry.database("11002")!.eventCount() == 20)
        #expect(try await hub.registry.database("44021")!.eventCount() == 20)
        #expect(try await hub.verify().problems.isEmpty)
    }

    @Test func aTownMissingFromTheIndexIsRegenerated() async throws {
        let directory = TemporaryDirectory("spool-index-town")
        let (hub, batch) = try await routedButNotApplied(directory)
        let path = "\(hub.directory.spool(batch: batch))/\(SpoolIndex.fileName)"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("44021 ") && !$0.hasPrefix("end ") }
        try (lines.joined(separator: "\n") + "\nend \(lines.count - 1)\n").write(toFile: path, atomically: false, encoding: .utf8)
        try await hub.finishUnfinishedBatches()
        #expect(try await hub.registry.database("44021")!.eventCount() == 20)
        #expect(try await hub.registry.database("11002")!.eventCount() == 20)
    }

    /// A batch routed by a WaterHub that wrote one spool file per town (before the index) is
    /// applied from those files: the raw file is gone, so nothing could be routed again.
    @Test func aBatchRoutedBeforeTheIndexIsAppliedFromItsTownFiles() async throws {
        let directory = TemporaryDirectory("spool-old-layout")
        let (hub, batch) = try await routedButNotApplied(directory)
        let folder = hub.directory.spool(batch: batch)
        for (town, segments) in try SpoolIndex(folder: folder).towns {
            let spool = try segments.reduce(into: Data()) { spool, segment in
                spool += try Data(contentsOf: URL(fileURLWithPath: segment.path))[Int(segment.offset)..<Int(segment.offset) + segment.count!]
            }
            try spool.write(to: URL(fileURLWithPath: "\(folder)/\(town).spool"))
        }
        for name in ["towns.spool", SpoolIndex.fileName] { try FileManager.default.removeItem(atPath: "\(folder)/\(name)") }
        try FileManager.default.removeItem(atPath: "\(directory.path)/archived.csv")
        try await hub.finishUnfinishedBatches()
        #expect(try hub.ledger.batch(batch)?.status == .applied)
        #expect(try await hub.registry.database("44021")!.eventCount() == 20)
        #expect(try await hub.registry.database("11002")!.eventCount() == 20)
    }

    @Test func aChangedConfigurationIsRefusedRatherThanGuessed() async throws {
        let directory = TemporaryDirectory("spool-config")
        let (first, batch) = try await routedButNotApplied(directory)
        try FileManager.default.removeItem(atPath: "\(first.directory.spool(batch: batch))/towns.spool")
        var source = first.configuration.sources[0]
        source.dialect.constants[.postalCode] = "2000"          // now every row would go to Antwerpen
        let changed = try makeHub(sources: [source], directory: directory)
        await #expect(throws: StorageError.self) { try await changed.finishUnfinishedBatches() }
        #expect(try await changed.registry.database("44021")!.eventCount() == 0)
    }
}
