import Foundation
import GRDB
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

@Suite struct RetentionTests {
    /// A demo hub whose clock can be moved forward.
    final class Clock: @unchecked Sendable {
        // Set only by the test between hub calls, never concurrently.
        var date = Date(timeIntervalSince1970: 1_795_000_000) // 2026-11-17
    }

    @Test func closedCasesAndOldRawFilesArePurgedAndCounted() async throws {
        let directory = TemporaryDirectory("retention")
        let clock = Clock()
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, now: { clock.date })
        _ = try await hub.fetchAll()
        let gent = try #require(try await hub.registry.database("44088"))
        let before = try await gent.events(after: 0, limit: 1000)
        let closedKeys = Set(try await gent.cases(limit: 1000).filter { $0.householdCase.state.isClosed }.map(\.key))
        #expect(!closedKeys.isEmpty)

        // Nothing is old enough yet.
        let early = try await hub.purgeExpired()
        #expect(early.households == 0 && early.rawFiles == 0)

        // Three years later: every closed case and every raw file is past its retention.
        clock.date = clock.date.addingTimeInterval(3 * 365 * 86_400)
        let report = try await hub.purgeExpired()
        #expect(report.households > 0)
        #expect(report.rawFiles == 4)
        #expect(report.quarantinedRows == 3)

        let after = try await gent.events(after: 0, limit: 1000)
        #expect(after.map(\.seq) == before.map(\.seq))
        for (old, new) in zip(before, after) {
            if closedKeys.contains(old.household) {
                #expect(new.event.name == nil && new.event.street == nil && new.event.customerNumber == nil && new.event.amountDueCents == nil)
                #expect(new.event.type == old.event.type && new.event.eventDate == old.event.eventDate)
            } else {
                #expect(new.event == old.event)
            }
        }
        let log = try hub.ledger.purgeLog()
        #expect(log.filter { $0.kind == "retention" }.reduce(0) { $0 + $1.households } == report.households)
        #expect(log.filter { $0.kind == "archive" }.reduce(0) { $0 + $1.files } == 4)
        let verification = try await hub.verify()
        #expect(verification.problems.isEmpty, "\(verification.problems)")

        // A purge is not repeated.
        let again = try await hub.purgeExpired()
        #expect(again.households == 0 && again.rawFiles == 0)
    }

    @Test func oneHouseholdIsErasedOnRequest() async throws {
        let directory = TemporaryDirectory("erase")
        let hub = try Hub(configuration: try ConfigurationLoader.load(directory: Repository.config), dataDirectory: directory.path, logger: quietLogger)
        _ = try await hub.fetchAll()
        let antwerpen = try #require(try await hub.registry.database("11002"))
        let key = try #require(try await antwerpen.cases(limit: 1).first?.key)
        let visit = Contact(date: .day("2026-11-20"), method: .homeVisitAnnounced, outcome: .reached, role: "social_worker", nextStep: "budget plan")
        _ = try await antwerpen.record(visit, household: key, idempotencyKey: "erase-1", tokenID: "t")
        let history = try #require(try await antwerpen.events(ofHousehold: key))
        let identifiers = Set(history.flatMap { [$0.event.customerNumber, $0.event.connectionID, $0.event.phone, $0.event.email] }.compactMap { $0 })
        #expect(!identifiers.isEmpty)
        // The household's data is in the town file itself (not only in its write-ahead log).
        let file = try DatabaseQueue(path: hub.directory.tenantFile(Tenant(nisCode: "11002", name: "Antwerpen")))
        _ = try await file.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try file.close()
        let counts = try await hub.erase(tenant: "11002", household: key)
        let contacts = try await antwerpen.contacts(limit: 10)
        #expect(contacts.count == 1 && contacts[0].contact.nextStep == nil && contacts[0].contact.method == .homeVisitAnnounced,
                "the contact stays (for the statistics) without its free text")
        #expect(counts.households == 1 && counts.events >= 1)
        let events = try await antwerpen.events(after: 0, limit: 1000)
        #expect(events.filter { $0.household == key }.allSatisfy { $0.event.name == nil && $0.event.phone == nil })
        #expect(events.contains { $0.household != key && $0.event.name != nil })
        await #expect(throws: CommandFailure.self) { try await hub.erase(tenant: "11002", household: "nosuchkey") }
        #expect(try hub.ledger.purgeLog().contains { $0.kind == "erasure" && $0.tenant == "11002" && $0.households == 1 })

        // Nothing of it is left on disk either: not in the town file's free space, not in its
        // write-ahead log (the archived raw feed files keep it until their own retention).
        let townFiles = try FileManager.default.contentsOfDirectory(atPath: hub.directory.tenants).filter { $0.hasPrefix("11002-") }
        #expect(townFiles.contains { $0.hasSuffix(".sqlite") })
        for file in townFiles {
            let bytes = try #require(FileManager.default.contents(atPath: "\(hub.directory.tenants)/\(file)"))
            for identifier in identifiers.union(["budget plan"]) {
                #expect(bytes.range(of: Data(identifier.utf8)) == nil, "\(file) still holds an erased value")
            }
        }
    }

    @Test func filesArePrivateAndAnOpenDataDirectoryIsRefused() async throws {
        let directory = TemporaryDirectory("modes")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        _ = try await hub.fetchAll()
        for name in try FileManager.default.contentsOfDirectory(atPath: hub.directory.tenants) where name.hasSuffix(".sqlite") {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(hub.directory.tenants)/\(name)")[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600, "\(name)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hub.directory.tenants)
        #expect {
            _ = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        } throws: { error in
            (error as? StorageError)?.code == .unsafePermissions && "\(error)".contains("chmod 700")
        }
    }
}
