import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// A clock the test moves by hand (no sleeping in tests).
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_795_000_000)) // Tue 2026-11-17
    var now: Date { current.withLock { $0 } }
    func advance(days: Double) { current.withLock { $0 = $0.addingTimeInterval(days * 86_400) } }
}

@Suite struct SchedulingTests {
    @Test func aSourceWithoutANewFileForItsPeriodPlusGraceIsOverdueOnce() async throws {
        let directory = TemporaryDirectory("overdue")
        let clock = TestClock()
        let server = FeedServer()
        var first = CanonicalFeed()
        first.add("E1")
        server.publish("feed.csv", first.bytes)
        try await server.run { base in
            var source = canonicalSource(url: "\(base)/feed.csv")
            source.fetch.expectedEveryDays = 7
            source.fetch.graceDays = 2
            let hub = try makeHub(sources: [source], directory: directory, now: { clock.now })
            _ = try await hub.fetchAll()
            let app = try buildApplication(hub: hub)

            clock.advance(days: 8.9)
            #expect(hub.overdueSources().isEmpty)
            // The same file again is not a *new* file: the clock keeps running.
            _ = try await hub.fetchAll()
            clock.advance(days: 0.2)
            #expect(hub.overdueSources() == ["testwater"])
            #expect(hub.raiseOverdueAlarms() == ["testwater"])
            #expect(hub.raiseOverdueAlarms().isEmpty)
            try await app.test(.router) { client in
                let (status, health) = try await client.get("/healthz", token: nil)
                #expect(status == .ok)
                #expect(health["status"] as? String == "degraded")
                #expect(health["overdue_sources"] as? [String] == ["testwater"])
            }

            // A new file ends the alarm.
            var next = CanonicalFeed()
            next.add("E1")
            next.add("E2")
            server.publish("feed.csv", next.bytes)
            _ = try await hub.fetchAll()
            #expect(hub.overdueSources().isEmpty)
            #expect(hub.raiseOverdueAlarms().isEmpty)
            #expect(try hub.ledger.sourceRecord("testwater").overdueSince == nil)
            try await app.test(.router) { client in
                let (_, health) = try await client.get("/healthz", token: nil)
                #expect(health["status"] as? String == "ok")
            }
        }
    }

    @Test func temporaryFailuresAreRetriedAndPermanentOnesAreNot() async throws {
        let directory = TemporaryDirectory("retries")
        let server = FeedServer()
        var feed = CanonicalFeed()
        feed.add("E1")
        server.publish("flaky.csv", feed.bytes)
        server.publish("locked.csv", feed.bytes)
        server.fail("flaky.csv", times: 2, status: 503)
        server.fail("locked.csv", times: 5, status: 401)
        try await server.run { base in
            var flaky = canonicalSource(id: "flaky", url: "\(base)/flaky.csv")
            flaky.fetch.retries = 3
            var locked = canonicalSource(id: "locked", url: "\(base)/locked.csv")
            locked.fetch.retries = 3
            let hub = try makeHub(sources: [flaky, locked], directory: directory)
            let reports = try await hub.fetchAll()
            guard case .ingested = reports[0].outcome else { Issue.record("\(reports[0].summary)"); return }
            guard case .failed(let message) = reports[1].outcome else { Issue.record("\(reports[1].summary)"); return }
            #expect(message.contains("401"))
            #expect(server.log == ["flaky.csv 503", "flaky.csv 503", "flaky.csv 200", "locked.csv 401"])
            #expect(try hub.ledger.sourceRecord("locked").lastError?.message.contains("401") == true)
        }
    }

    @Test func aDropFolderIngestsEachNewFileOnceWhateverItsName() async throws {
        let directory = TemporaryDirectory("drop")
        var week46 = CanonicalFeed(), week47 = CanonicalFeed()
        week46.add("A1")
        week47.add("B1")
        let old = Date().addingTimeInterval(-3600)
        for (name, feed) in [("week46.csv", week46), ("week47.csv", week47), ("week46-copy.csv", week46), ("notes.txt", week47)] {
            let path = directory.write("drop/\(name)", Data(feed.bytes))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        directory.write("drop/week48.csv", Data(week47.bytes)) // still being written: too recent
        let hub = try makeHub(sources: [canonicalSource(url: "file://\(directory.path)/drop/week*.csv")], directory: directory)
        let reports = try await hub.fetchAll()
        let outcomes = reports.map { report -> String in
            switch report.outcome {
            case .ingested: "new"
            case .duplicate: "duplicate"
            default: report.summary
            }
        }
        #expect(outcomes == ["new", "duplicate", "new"])
        let again = try await hub.fetchAll()
        #expect(again.allSatisfy { if case .duplicate = $0.outcome { true } else { false } })
    }

    /// The new files of one run are applied together (each town file opened once), in file order:
    /// the towns end exactly as when each file is fetched and applied on its own.
    @Test func theNewFilesOfOneRunAreAppliedTogetherInFileOrder() async throws {
        let directory = TemporaryDirectory("drop-together")
        var week46 = CanonicalFeed(), week47 = CanonicalFeed()
        week46.add("A1", customer: "C1", amount: "10.00")
        week46.add("A2", customer: "C2", postalCode: "9000")
        week46.add("A3", .paymentPlanFailed, customer: "C3")
        week47.add("A1", customer: "C1", amount: "25.00")               // a correction of week 46
        week47.add("A3", .paymentPlanFailed, customer: "C3")            // a repeat: changes nothing
        week47.add("B1", .flowLimitation, date: "2026-11-20", customer: "C2", postalCode: "9000")
        let old = Date().addingTimeInterval(-3600)
        for (name, bytes) in [("week46.csv", week46.bytes), ("week47.csv", week47.bytes), ("week48.csv", Array("what,ever\r\n1,2\r\n".utf8))] {
            let path = directory.write("drop/\(name)", Data(bytes))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        let together = try makeHub(sources: [canonicalSource(url: "file://\(directory.path)/drop/week*.csv")], directory: directory)
        let reports = try await together.fetchAll()
        let outcomes = reports.map { report -> String in
            switch report.outcome {
            case .ingested(let batch, _, _): "batch \(batch)"
            case .held: "held"
            default: report.summary
            }
        }
        #expect(outcomes == ["batch 1", "batch 2", "held"], "a held file does not stop the others")

        // The same files, fetched one at a time into another hub.
        let alone = TemporaryDirectory("drop-alone")
        let oneByOne = try makeHub(sources: [canonicalSource(url: "file://\(alone.path)/feed.csv")], directory: alone)
        for feed in [week46, week47] {
            alone.write("feed.csv", Data(feed.bytes))
            #expect(try await oneByOne.fetchAll().allSatisfy(\.ingested))
        }
        for nisCode in ["11002", "44021"] {
            // Everything but the household keys, which are opaque and differ per hub.
            func stored(_ hub: Hub) async throws -> [String] {
                try await hub.registry.database(nisCode)!.events(after: 0, limit: 100).map {
                    "\($0.seq) v\($0.version) \($0.isCurrent) \($0.event) \($0.provenance.batchID) line \($0.provenance.line)"
                }
            }
            let expected = try await stored(oneByOne)
            #expect(!expected.isEmpty)
            #expect(try await stored(together) == expected, "town \(nisCode)")
        }
        let antwerp = try await together.registry.database("11002")!.events(after: 0, limit: 100)
        #expect(antwerp.map { "\($0.event.sourceEventID) v\($0.version) \($0.isCurrent) \($0.event.amountDueCents ?? -1)" }
                == ["A1 v1 false 1000", "A3 v1 true 1000", "A1 v2 true 2500"])
        #expect(try await together.verify().problems.isEmpty)
    }

    /// A long replay goes in groups: with two files applied together, the third file is fetched
    /// only after the first two were applied (their spools wait on disk meanwhile).
    @Test func aLongReplayIsAppliedInGroups() async throws {
        let directory = TemporaryDirectory("drop-groups")
        let old = Date().addingTimeInterval(-3600)
        for week in 1...3 {
            var feed = CanonicalFeed()
            feed.add("W\(week)", customer: "C\(week)")
            let path = directory.write("drop/week\(week).csv", Data(feed.bytes))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        // A clock that moves one second at every reading: the ledger's times give the order.
        let ticks = Mutex(0)
        let start = Date()
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.sources = [canonicalSource(url: "file://\(directory.path)/drop/week*.csv")]
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger,
                          now: { start.addingTimeInterval(Double(ticks.withLock { $0 += 1; return $0 })) },
                          retryBaseDelay: .milliseconds(5), filesAppliedTogether: 2)
        #expect(try await hub.fetchAll().allSatisfy(\.ingested))
        let ledger = try DatabaseQueue(path: hub.directory.ledger)
        let (fetched, applied) = try await ledger.read { db in
            (try String.fetchAll(db, sql: "SELECT started_at FROM fetch ORDER BY id"),
             try String.fetchAll(db, sql: "SELECT max(applied_at) FROM batch_tenant GROUP BY batch_id ORDER BY batch_id"))
        }
        try ledger.close()
        #expect(fetched.count == 3 && applied.count == 3)
        #expect(applied[0] > fetched[1], "the first two files are applied together, after the second was fetched")
        #expect(applied[1] < fetched[2], "and before the third is fetched")
        #expect(applied[2] > fetched[2])
    }

    @Test(arguments: [
        ("2026-10-24T12:00:00Z", "2026-10-26T05:00:00Z"),  // Monday 06:00 CET, after summer time ended
        ("2026-03-28T12:00:00Z", "2026-03-30T04:00:00Z"),  // Monday 06:00 CEST, after summer time began
        ("2026-11-23T04:59:00Z", "2026-11-23T05:00:00Z"),
        ("2026-11-23T05:00:00Z", "2026-11-30T05:00:00Z"),
    ])
    func weeklySchedulesFollowBrusselsTime(after: String, expected: String) throws {
        let parse = ISO8601DateFormatter()
        let next = FeedScheduler.nextRun(of: .weekly(weekday: 1, hour: 6, minute: 0), after: try #require(parse.date(from: after)))
        #expect(next == parse.date(from: expected))
        #expect(FeedScheduler.previousRun(of: .weekly(weekday: 1, hour: 6, minute: 0), atOrBefore: next) == next)
    }

    @Test func sftpWithoutAHostKeyCheckIsAConfigurationError() throws {
        let directory = TemporaryDirectory("sftp-config")
        try FileManager.default.copyItem(atPath: Repository.config, toPath: "\(directory.path)/Config")
        directory.write("Config/sources/remote.yaml", """
            name: Remote Water
            url: sftp://feeds.example.org/out/week.csv
            auth:
              username: hub
              private_key_file: /etc/waterhub/id_ed25519
            tls:
              ca_bundle: /etc/ssl/ca.pem
            dialect:
              columns: {source_event_id: id, type: t, event_date: d, customer_number: c, postal_code: p}

            """)
        do {
            _ = try ConfigurationLoader.load(directory: "\(directory.path)/Config")
            Issue.record("must be refused")
        } catch {
            #expect(error.issues.contains { $0.message.contains("sftp.known_hosts or sftp.host_key_sha256") && $0.file.hasSuffix("remote.yaml") })
            #expect(error.issues.contains { $0.key == "tls" && $0.line == 6 }, "\(error.issues)")
        }
    }

    /// SIGTERM during a transfer stops `waterhub serve` promptly and leaves no staging file.
    @Test(.timeLimit(.minutes(1)))
    func serveStopsCleanlyOnSIGTERMInTheMiddleOfATransfer() async throws {
        let executable = try waterhubExecutable()
        let directory = TemporaryDirectory("sigterm")
        let server = FeedServer()
        server.stall("slow.csv")
        try await server.run { base in
            try FileManager.default.copyItem(atPath: "\(Repository.config)/reference", toPath: "\(directory.path)/Config/reference")
            directory.write("Config/hub.yaml", "tenants:\n  - nis: \"11002\"\n")
            directory.write("Config/sources/slow.yaml", """
                name: Slow Water
                url: \(base)/slow.csv
                fetch: {low_speed_time: 120, timeout: 600}
                dialect:
                  columns: {\(EventField.allCases.map { "\($0.rawValue): \($0.rawValue)" }.joined(separator: ", "))}

                """)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve", "--config", "\(directory.path)/Config", "--data-dir", "\(directory.path)/data",
                                 "--port", "0", "--log-level", "critical"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let staging = "\(directory.path)/data/Archive/staging"
            func partFiles() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []).filter { $0.hasSuffix(".part") } }
            var waited = 0
            while partFiles().isEmpty && waited < 200 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            #expect(!partFiles().isEmpty, "the transfer never started")
            let signalled = Date()
            kill(process.processIdentifier, SIGTERM)
            while process.isRunning && Date().timeIntervalSince(signalled) < 15 {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!process.isRunning, "serve did not stop within 15 s of SIGTERM")
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            #expect(partFiles().isEmpty)
            server.unstall("slow.csv")
        }
    }
}
