import Foundation
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage
import WaterHubTestSupport

@Suite struct QuarantineTests {
    /// A hub whose only source reads `feed.csv` from the test folder with the given dialect.
    func hub(_ directory: TemporaryDirectory, dialect: Dialect) throws -> Hub {
        var source = canonicalSource(url: "file://\(directory.path)/feed.csv")
        source.dialect = dialect
        return try makeHub(sources: [source], directory: directory)
    }

    @Test func aFileWithARenamedColumnIsHeldWholeAndReleasedAfterTheFix() async throws {
        let directory = TemporaryDirectory("held")
        var feed = CanonicalFeed()
        for index in 0..<10 { feed.add("H\(index)", customer: "C\(index)") }
        let text = String(decoding: feed.bytes, as: UTF8.self).replacingOccurrences(of: "postal_code", with: "postcode")
        directory.write("feed.csv", text)

        let before = try hub(directory, dialect: .canonical)
        let reports = try await before.fetchAll()
        guard case .held(let batch, let message) = reports.first?.outcome else { Issue.record("\(reports.map(\.summary))"); return }
        #expect(message.contains("postal_code") && message.contains("postcode"))
        #expect(try await before.registry.database("11002")!.eventCount() == 0)
        let stillWrong = try await before.release(batchID: batch)
        #expect(stillWrong.stillHeld != nil)

        var fixed = Dialect.canonical
        fixed.columns[.postalCode] = .named("postcode")
        let after = try hub(directory, dialect: fixed)
        let release = try await after.release(batchID: batch)
        #expect(release.stillHeld == nil)
        #expect(release.counts == BatchCounts(rowsIn: 10, routed: 10, outsideRegion: 0, quarantined: 0))
        #expect(try await after.registry.database("11002")!.eventCount() == 10)
        #expect(try await after.verify().problems.isEmpty)
    }

    @Test func heldRowsAreStoredByAReleaseOnceTheMappingIsFixed() async throws {
        let directory = TemporaryDirectory("rows")
        var lines = [EventField.allCases.map(\.rawValue).joined(separator: ",")]
        for index in 0..<20 {
            let type = index % 10 == 3 ? "DISC" : "warning_letter"         // two rows with a code nobody mapped yet
            let postal = index == 7 ? "9999" : "2000"                      // and one that no mapping can save
            lines.append("R\(index),\(type),2026-11-16,C\(index),,Naam \(index),Straat,,,\(postal),,,,,1.00,no,")
        }
        directory.write("feed.csv", lines.joined(separator: "\n") + "\n")
        var dialect = Dialect.canonical
        dialect.eventTypeCodes = Dictionary(uniqueKeysWithValues: EventType.allCases.map { ($0.rawValue, $0) })
        let before = try hub(directory, dialect: dialect)
        guard case .ingested(let batch, let counts, _)? = try await before.fetchAll().first?.outcome else { Issue.record("not ingested"); return }
        #expect(counts == BatchCounts(rowsIn: 20, routed: 17, outsideRegion: 0, quarantined: 3))
        #expect(try before.ledger.quarantineEntries(batchID: batch).map(\.problem.code) == [.unknownEventType, .unknownPostalCode, .unknownEventType])

        dialect.eventTypeCodes["DISC"] = .disconnection
        let after = try hub(directory, dialect: dialect)
        let release = try await after.release(batchID: batch)
        #expect(release.batch != batch)
        #expect(release.counts == BatchCounts(rowsIn: 3, routed: 2, outsideRegion: 0, quarantined: 1))
        let held = try after.ledger.quarantineEntries(batchID: batch)
        #expect(held.map(\.line) == [9] && held.first?.problem.code == .unknownPostalCode)
        let stored = try await after.registry.database("11002")!.events(after: 0, limit: 100)
        #expect(stored.count == 19)
        #expect(stored.filter { $0.event.type == .disconnection }.map(\.provenance.line).sorted() == [5, 15])
        #expect(try await after.verify().problems.isEmpty)

        let report = try after.qualityReport(batchID: batch)
        #expect(report.releasedSince == 2)
        #expect(report.reasons.map(\.code) == ["unknown_postal_code"])
        // A second release changes nothing and stores nothing twice.
        let again = try await after.release(batchID: batch)
        #expect(again.counts.routed == 0 && again.counts.quarantined == 1)
        #expect(try await after.registry.database("11002")!.eventCount() == 19)
    }

    @Test func tooManyBadRowsHoldTheFileWithTheTopReasons() async throws {
        let directory = TemporaryDirectory("share")
        var lines = [EventField.allCases.map(\.rawValue).joined(separator: ",")]
        for index in 0..<10 {
            let date = index < 3 ? "31-12-2026" : "2026-11-16"
            lines.append("S\(index),warning_letter,\(date),C\(index),,,,,,2000,,,,,,no,")
        }
        directory.write("feed.csv", lines.joined(separator: "\n") + "\n")
        let hub = try hub(directory, dialect: .canonical)
        guard case .held(let batch, let message)? = try await hub.fetchAll().first?.outcome else { Issue.record("must be held"); return }
        #expect(message.contains("3 of 10 rows (30 %)") && message.contains("invalid_date (3)"))
        #expect(try await hub.registry.database("11002")!.eventCount() == 0)
        #expect(try hub.qualityReport(batchID: batch).heldBecause == message)
    }

    @Test func theQualityReportCarriesNoPersonalData() async throws {
        let directory = TemporaryDirectory("quality")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        let reports = try await hub.fetchAll()
        let raw = try String(contentsOfFile: "\(Repository.demoFeeds)/aquaflan-2026-W47.csv", encoding: .windowsCP1252)
        let personal = raw.split(separator: "\r\n").dropFirst().flatMap { row -> [String] in
            let fields = row.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            return [fields[3], fields[5], fields[6], fields[12], fields[13]].filter { $0.count > 3 }
        }
        #expect(personal.count > 50)
        for case .ingested(let batch, _, _) in reports.map(\.outcome) {
            let report = try hub.qualityReport(batchID: batch)
            let text = report.text + String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            let leaked = personal.filter { text.contains($0) }
            #expect(leaked.isEmpty, "batch \(batch) report contains \(leaked.count) personal value(s)")
        }
    }
}
