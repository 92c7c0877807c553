import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

@Suite struct BackupTests {
    /// A hub on the demo configuration plus a large canonical source, with the demo feeds in.
    func loadedHub(_ directory: TemporaryDirectory) async throws -> Hub {
        var feed = CanonicalFeed()
        for index in 0..<3000 {
            feed.add("L\(index)", customer: "C\(index % 500)", postalCode: ["2000", "9000", "2300", "9120"][index % 4])
        }
        let feedPath = directory.write("load.csv", Data(feed.bytes))
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.sources.append(canonicalSource(id: "load", url: "file://\(feedPath)"))
        let hub = try Hub(configuration: configuration, dataDirectory: "\(directory.path)/data", logger: quietLogger)
        for source in configuration.sources where source.id != "load" { _ = await hub.fetchAndIngest(source) }
        return hub
    }

    @Test(.timeLimit(.minutes(2)))
    func aBackupTakenUnderLoadRestoresAndVerifies() async throws {
        let directory = TemporaryDirectory("backup")
        let hub = try await loadedHub(directory)
        let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
        let backupFolder = "\(directory.path)/backup"
        let pulls = try await app.test(.live) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        var ok = 0
                        for _ in 0..<40 {
                            let (status, _) = try await client.get("/v1/tenants/11002/events?limit=200", token: token)
                            if status == .ok { ok += 1 }
                        }
                        return ok
                    }
                }
                group.addTask {
                    let reports = await hub.fetchAndIngest(hub.configuration.sources.first { $0.id == "load" }!)
                    #expect(reports.count == 1 && !reports[0].needsAttention, "\(reports.map(\.summary))")
                    return 0
                }
                group.addTask {
                    _ = try await hub.backup(to: backupFolder)
                    return 0
                }
                return try await group.reduce(0, +)
            }
        }
        #expect(pulls == 120)

        let restoredRoot = "\(directory.path)/restored"
        let manifest = try Hub.restore(from: backupFolder, into: DataDirectory(root: restoredRoot))
        #expect(manifest.files.contains { $0.path == "Tenants/hub.sqlite" })
        #expect(manifest.files.contains { $0.path.hasPrefix("Archive/aquaflan/") })
        let restored = try Hub(configuration: hub.configuration, dataDirectory: restoredRoot, logger: quietLogger)
        let report = try await restored.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.townFiles == 7)

        // The backup holds either all of the concurrent batch or none of it, in every town.
        let loadApplied = try restored.ledger.recentBatches().contains { $0.source == "load" && $0.status == .applied }
        for nisCode in ["11002", "44021", "13040", "46030"] {
            let events = try await restored.registry.database(nisCode)!.events(after: 0, limit: 100_000)
            #expect(events.contains { $0.event.source == "testwater" || $0.event.source == "load" } == loadApplied, "town \(nisCode)")
        }
    }

    @Test func restoreRefusesWhileAHubIngestsAndWhenTheBackupWasTamperedWith() async throws {
        let directory = TemporaryDirectory("restore")
        let hub = try await loadedHub(directory)
        let backupFolder = "\(directory.path)/backup"
        _ = try await hub.backup(to: backupFolder)
        _ = try await hub.withIngestLock {
            #expect(throws: CommandFailure.self) { try Hub.restore(from: backupFolder, into: hub.directory) }
        }
        let town = "\(backupFolder)/Tenants/11002-antwerpen.sqlite"
        let handle = try #require(FileHandle(forUpdatingAtPath: town))
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data([0x42]))
        try handle.close()
        let fresh = DataDirectory(root: "\(directory.path)/fresh")
        #expect {
            try Hub.restore(from: backupFolder, into: fresh)
        } throws: { error in
            "\(error)".contains("does not match the manifest")
        }
        #expect(!FileManager.default.fileExists(atPath: fresh.ledger))
    }
}
