import Foundation
import Testing
@testable import WaterHubApp
import WaterHubConfig
import WaterHubCore
@testable import WaterHubDialects
import WaterHubStorage
import WaterHubTestSupport

/// The ingest spools each row from the decoder's buffers (`FeedTriage.nextRoute`, `FeedRow`)
/// instead of making an `Event` of it. Every demo feed, in each shipped dialect, must give the
/// same spool bytes for every town both ways, and route as before.
@Suite struct RowInPlaceTests {
    /// Spools a feed's routed rows twice in one pass: from the row in place, and through the
    /// row's `Event` in its spool form the slow way (`SpooledEvent.spoolFields`, strings per
    /// field). Each town's two spools, byte for byte, and how many rows were routed.
    func spoolBothWays(_ path: String, source: SourceConfiguration, configuration: HubConfiguration) throws
        -> (inPlace: [String: Data], fromEvents: [String: Data], routed: Int) {
        let folder = TemporaryDirectory("in-place")
        let file = try FileByteSource(path: path)
        defer { file.close() }
        let router = Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode)))
        var triage = try FeedTriage(source: file, sourceID: source.id, dialect: source.dialect, router: router,
                                    rules: configuration.rules, today: .day("2026-11-22"))
        var writers: [String: (inPlace: SpoolWriter, fromEvent: SpoolWriter)] = [:]
        var routed = 0
        while let (line, decision) = try triage.nextRoute() {
            guard case .tenant(let nisCode) = decision else { continue }
            let pair = try writers[nisCode] ?? (SpoolWriter(path: "\(folder.path)/\(nisCode).row"), SpoolWriter(path: "\(folder.path)/\(nisCode).event"))
            writers[nisCode] = pair
            try pair.inPlace.append(triage.row, line: line)
            try pair.fromEvent.append(SpooledEvent(event: triage.row.event(), line: line).spoolFields)
            routed += 1
        }
        var inPlace: [String: Data] = [:], fromEvents: [String: Data] = [:]
        for (nisCode, pair) in writers {
            try pair.inPlace.close()
            try pair.fromEvent.close()
            inPlace[nisCode] = try Data(contentsOf: URL(fileURLWithPath: pair.inPlace.path))
            fromEvents[nisCode] = try Data(contentsOf: URL(fileURLWithPath: pair.fromEvent.path))
        }
        return (inPlace, fromEvents, routed)
    }

    @Test func everyDemoFeedSpoolsTheSameBytesFromTheRowAsFromItsEvent() throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        #expect(configuration.sources.count == 4)
        for source in configuration.sources {
            let file = try #require(FileManager.default.contentsOfDirectory(atPath: Repository.demoFeeds).first { $0.hasPrefix(source.id) })
            let spooled = try spoolBothWays("\(Repository.demoFeeds)/\(file)", source: source, configuration: configuration)
            #expect(!spooled.inPlace.isEmpty && spooled.routed >= 30, "\(source.id)")
            #expect(spooled.inPlace == spooled.fromEvents, "\(source.id)")
        }
    }

    /// The row's text is each cell of the file decoded and trimmed as a string, read here apart
    /// with a tokenizer of its own: the decoder's bytes-first trimming and transcoding change nothing.
    @Test func eachRowHoldsItsCellsDecodedAndTrimmed() throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let router = Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode)))
        let typed: Set<EventField> = [.type, .eventDate, .amountDue, .protectedCustomer]
        var compared = 0
        for source in configuration.sources where source.dialect.format == .csv {
            let dialect = source.dialect
            let file = try #require(FileManager.default.contentsOfDirectory(atPath: Repository.demoFeeds).first { $0.hasPrefix(source.id) })
            let bytes = try #require(FileManager.default.contents(atPath: "\(Repository.demoFeeds)/\(file)"))
            var triage = try FeedTriage(source: InMemoryByteSource(Array(bytes), chunkSize: 512), sourceID: source.id, dialect: dialect,
                                        router: router, rules: configuration.rules, today: .day("2026-11-22"))
            var cells = CSVTokenizer(source: InMemoryByteSource(Array(bytes), chunkSize: 4096), delimiter: dialect.delimiter, quote: dialect.quote)
            for _ in 0..<dialect.skipLines { _ = try cells.next() }
            #expect(try cells.next())
            let header = try FeedDecoder.header(of: cells, dialect: dialect)
            let columns = try FeedDecoder<InMemoryByteSource>.match(header: header, dialect: dialect, line: cells.line)
            while let (line, decision) = try triage.nextRoute() {
                guard case .tenant = decision else { continue }
                while cells.line < line { #expect(try cells.next()) }
                for field in EventField.allCases where !typed.contains(field) && dialect.constants[field] == nil {
                    guard let column = columns[field.index] else { continue }
                    let cell = cells.withField(column) { dialect.encoding.decode($0)?.trimmingWhitespace() }
                    let expected = cell.flatMap { $0.isEmpty ? nil : $0 }
                    #expect(triage.row.string(field) == expected, "\(source.id) line \(line) \(field)")
                    compared += 1
                }
            }
        }
        #expect(compared > 500)
    }

    /// Every demo feed's rows go where ff486a8 (the last commit that made an `Event` of every
    /// row) sent them: the town of each routed row, and the code, field and message of each
    /// quarantined one, as that build's `waterhub fetch` stored them (events' lines per town
    /// file, the ledger's quarantine), hashed one line each in line order; and the counts.
    @Test(arguments: [
        ("aquaflan", 52, 12, 2, "123287a2777c279f0f7b79b6271297fd3712d763ce7862f7e9ab5e6ae99f9694"),
        ("kempenwater", 36, 1, 0, "c67db6f06d255bdd4cbb5e31a71cc23a648f5403206c84717b8797a8f22ece6f"),
        ("polderwater", 30, 0, 1, "394dce5922c9aae74ca553f2e0da2d26121a6d8c3d37dcf2f276137f08ba461b"),
        ("scheldewater", 48, 0, 0, "2c90a39ba824ec7092cb55ac9050079b20db3b8a5cadbdad3c3cc38eb427684f"),
    ])
    func eachDemoFeedRoutesAsBeforeTheRowWasReadInPlace(source id: String, routed: Int, outside: Int, quarantined: Int, sha256: String) throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let source = try #require(configuration.sources.first { $0.id == id })
        let file = try #require(FileManager.default.contentsOfDirectory(atPath: Repository.demoFeeds).first { $0.hasPrefix(id) })
        let bytes = try #require(FileManager.default.contents(atPath: "\(Repository.demoFeeds)/\(file)"))
        let router = Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode)))
        var triage = try FeedTriage(source: InMemoryByteSource(Array(bytes), chunkSize: 1024), sourceID: id, dialect: source.dialect,
                                    router: router, rules: configuration.rules, today: .day("2026-11-24"))
        var lines: [String] = []
        var counts = (routed: 0, outside: 0, quarantined: 0)
        while let (line, decision) = try triage.nextRoute() {
            switch decision {
            case .tenant(let nisCode):
                lines.append("\(line) \(nisCode)")
                counts.routed += 1
            case .outsideRegion:
                counts.outside += 1
            case .rejected(let problem):
                lines.append("\(line) \(problem.code.rawValue) \(problem.field ?? "-") \(problem.message)")
                counts.quarantined += 1
            }
        }
        #expect(counts == (routed, outside, quarantined))
        let directory = TemporaryDirectory("golden-\(id)")
        let text = directory.write("decisions.txt", Data(lines.map { $0 + "\n" }.joined().utf8))
        #expect(try DatabaseFiles.sha256(ofFile: text) == sha256, "\(id): the decisions differ from ff486a8's:\n\(lines.joined(separator: "\n"))")
    }
}

