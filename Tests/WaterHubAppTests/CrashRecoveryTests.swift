import Foundation
import Logging
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// The `waterhub` executable built next to this test bundle.
func waterhubExecutable() throws -> String {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    let path = "\(folder)/waterhub"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw CommandFailure("the waterhub executable is not built next to the tests (\(path)); run `swift build --build-tests` first")
    }
    return path
}

/// A configuration in which all 285 Flemish towns are tenants and one source sends a large
/// canonical feed spread over all of them; returns the config folder and the expected ids per town.
func writeAllTownsConfiguration(in directory: TemporaryDirectory, rows: Int) throws -> (config: String, expected: [String: [String]]) {
    let config = "\(directory.path)/Config"
    try FileManager.default.createDirectory(atPath: "\(config)/sources", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: "\(Repository.config)/reference", toPath: "\(config)/reference")
    let towns = Repository.reference.flemishMunicipalities.map { town in
        (town.nisCode, town.postalCodes.first { Repository.reference.nisCodesByPostalCode[$0]?.count == 1 }!)
    }
    directory.write("Config/hub.yaml", "tenants:\n" + towns.map { "  - nis: \"\($0.0)\"\n" }.joined())
    let fields = EventField.allCases.map(\.rawValue)
    directory.write("Config/sources/big.yaml", """
        name: Big Test Water
        url: file://\(directory.path)/feed.csv
        dialect:
          columns:
        \(fields.map { "    \($0): \($0)" }.joined(separator: "\n"))

        """)
    var expected: [String: [String]] = [:]
    var text = fields.joined(separator: ",") + "\n"
    text.reserveCapacity(rows * 80)
    for index in 0..<rows {
        let (nis, postalCode) = towns[index % towns.count]
        let type = EventType.allCases[index % 9]
        let date = CalendarDate.day("2026-01-01").adding(days: index % 300)
        text += "K\(index),\(type.rawValue),\(date.iso),C\(index % 4000),,Naam \(index),Straat,1,,\(postalCode),,,,,\(index % 700).25,no,\n"
        expected[nis, default: []].append("K\(index)")
    }
    directory.write("feed.csv", text)
    return (config, expected)
}

@Suite struct CrashRecoveryTests {
    /// Kills `waterhub fetch` with SIGKILL at many points while it ingests one large batch into
    /// 285 towns, restarts it each time, and proves every town ends with exactly its events:
    /// none missing, none twice, sequence numbers strictly increasing, ledger and files agreeing.
    @Test(.timeLimit(.minutes(3)))
    func killedAtAnyPointEveryTownEndsWithExactlyItsEvents() async throws {
        let executable = try waterhubExecutable()
        let directory = TemporaryDirectory("crash")
        let (config, expected) = try writeAllTownsConfiguration(in: directory, rows: 12_000)
        let data = "\(directory.path)/data"
        let arguments = ["fetch", "--config", config, "--data-dir", data, "--log-level", "critical"]

        var phases: [String] = []
        var delay = 0.01
        var finishedOnItsOwn = false
        for _ in 0..<20 where !finishedOnItsOwn {
            let process = try start(executable, arguments)
            // A blocking sleep: under a loaded test run, a task's sleep can wake far too late,
            // and every kill would land at the same point.
            usleep(UInt32(delay * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                phases.append(try phase(data: data))
            } else {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                finishedOnItsOwn = true
            }
            delay *= 1.5
        }
        // Whatever happened, one more run finishes the job.
        let last = try start(executable, arguments)
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)

        // The kills hit different phases, including the middle of applying to the towns.
        #expect(phases.contains { $0.hasPrefix("applying") }, "kill points: \(phases)")
        #expect(Set(phases).count >= 3, "kill points: \(phases)")

        let configuration = try ConfigurationLoader.load(directory: config)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let hub = try Hub(configuration: configuration, dataDirectory: data, logger: quiet)
        for tenant in configuration.tenants {
            let database = try #require(try await hub.registry.database(tenant.nisCode))
            let events = try await database.events(after: 0, limit: 100_000)
            let ids = events.map(\.event.sourceEventID)
            #expect(ids.sorted() == (expected[tenant.nisCode] ?? []).sorted(), "town \(tenant.nisCode)")
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.seq < $1.seq }, "town \(tenant.nisCode)")
            #expect(events.allSatisfy { $0.version == 1 }, "town \(tenant.nisCode)")
        }
        let report = try await hub.verify()
        #expect(report.problems.isEmpty, "\(report.problems.prefix(5))")
        #expect(report.batchesReconciled == configuration.tenants.count)
        // A town file a kill left half built (under its hidden name) is gone.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(data)/Tenants").filter { $0.contains(".sqlite.new-") }
        #expect(leftovers.isEmpty, "\(leftovers.prefix(3))")

        // The file fetched again is a duplicate: nothing is ingested twice.
        let again = try await hub.fetchAll()
        guard case .duplicate = again.first?.outcome else { Issue.record("expected a duplicate, got \(again.map(\.summary))"); return }
    }

    private func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Where the ingest stood when it was killed, read from the ledger.
    private func phase(data: String) throws -> String {
        guard FileManager.default.fileExists(atPath: "\(data)/Tenants/hub.sqlite") else { return "before the ledger" }
        let ledger = try Ledger(path: "\(data)/Tenants/hub.sqlite")
        guard let batch = try ledger.recentBatches(limit: 1).first else { return "fetching" }
        switch batch.status {
        case .routing: return "routing"
        case .routed: return "applying (\(try ledger.pendingTenants(batchID: batch.id).count) towns left)"
        case .applied: return "applied"
        case .held: return "held"
        }
    }
}
