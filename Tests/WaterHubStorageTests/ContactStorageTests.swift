import Foundation
import GRDB
import Testing
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

@Suite struct ContactStorageTests {
    let directory = TemporaryDirectory("contacts")

    func databaseWithTwoHouseholds() async throws -> (TenantDatabase, [String]) {
        let database = try TenantDatabase(tenant: Tenant(nisCode: "44021", name: "Gent"), path: "\(directory.path)/44021-gent.sqlite")
        let events = [("E1", "C1", EventType.disconnection, "2026-11-02"), ("E2", "C2", .warningLetter, "2026-11-10"),
                      ("E3", "C1", .reconnection, "2026-11-20")].enumerated().map { index, row in
            SpooledEvent(event: Event(source: "aquaflan", sourceEventID: row.0, type: row.2, eventDate: .day(row.3), customerNumber: row.1,
                                      postalCode: "9000"), line: index + 2)
        }
        _ = try database.apply(batchID: 1, fileSHA256: String(repeating: "a", count: 64), events: events)
        let keys = try await database.cases(limit: 10).map(\.key)
        return (database, keys)
    }

    let visit = Contact(date: .day("2026-11-21"), method: .homeVisitAnnounced, outcome: .reached, role: "social_worker", nextStep: "budget plan")

    @Test func aContactIsRecordedOncePerIdempotencyKey() async throws {
        let (database, keys) = try await databaseWithTwoHouseholds()
        guard case .recorded(let first) = try await database.record(visit, household: keys[0], idempotencyKey: "k-1", tokenID: "t") else {
            Issue.record("expected the first contact to be recorded"); return
        }
        guard case .replayed(let again) = try await database.record(visit, household: keys[0], idempotencyKey: "k-1", tokenID: "t") else {
            Issue.record("expected a retry to get the original back"); return
        }
        #expect(again == first)
        var other = visit
        other.outcome = .notReached
        #expect(try await database.record(other, household: keys[0], idempotencyKey: "k-1", tokenID: "t") == .keyReused)
        #expect(try await database.record(visit, household: keys[1], idempotencyKey: "k-1", tokenID: "t") == .keyReused)
        #expect(try await database.record(visit, household: "nosuchhousehold", idempotencyKey: "k-2", tokenID: "t") == .unknownHousehold)
        #expect(try await database.contactCount() == 1)
        #expect(try await database.contacts(limit: 10).map(\.household) == [keys[0]])
    }

    @Test func casesCarryTheirContactHistory() async throws {
        let (database, keys) = try await databaseWithTwoHouseholds()
        var notReached = visit
        notReached.outcome = .notReached
        notReached.date = .day("2026-11-25")
        _ = try await database.record(visit, household: keys[0], idempotencyKey: "a", tokenID: "t")
        _ = try await database.record(notReached, household: keys[0], idempotencyKey: "b", tokenID: "t")
        let cases = try await database.cases(limit: 10)
        #expect(cases[0].contacts == ContactHistory(lastContactOn: .day("2026-11-25"), lastReachedOn: .day("2026-11-21")))
        #expect(cases[1].contacts == ContactHistory())
    }

    /// The table refuses what the API would never send: the codes are CHECKed in the file itself.
    @Test func theContactTableRefusesCodesOutsideTheLists() async throws {
        let (database, _) = try await databaseWithTwoHouseholds()
        let queue = try DatabaseQueue(path: database.path)
        for (column, value) in [("method", "pigeon"), ("outcome", "maybe"), ("role", "Voornaam Achternaam"), ("contact_date", "21/11/2026")] {
            #expect(throws: DatabaseError.self, "\(column)") {
                try queue.write { db in
                    var values = ["contact_date": "2026-11-21", "method": "card", "outcome": "reached", "role": "social_worker"]
                    values[column] = value
                    try db.execute(sql: """
                        INSERT INTO contact (household_id, contact_date, method, outcome, role, idempotency_key, request_hash, token_id, recorded_at)
                        VALUES (1, ?, ?, ?, ?, ?, x'00', 't', 'now')
                        """, arguments: [values["contact_date"], values["method"], values["outcome"], values["role"], "key-\(column)"])
                }
            }
        }
    }

    @Test func filteredPullsEndAtTheLastMatchOrTheLastEvent() async throws {
        let (database, _) = try await databaseWithTwoHouseholds()
        let disconnections = EventFilter(types: [.disconnection])
        #expect(try await database.pullEnd(after: 0, matching: disconnections, limit: 1) == 1)
        #expect(try await database.pullEnd(after: 0, matching: disconnections, limit: 5) == 3, "fewer matches than the limit: the end is the last event")
        #expect(try await database.pullEnd(after: 3, matching: EventFilter(), limit: nil) == 3)
        let november = EventFilter(since: .day("2026-11-05"), until: .day("2026-11-15"))
        #expect(try await database.events(after: 0, through: 3, matching: november, limit: 10).map(\.event.sourceEventID) == ["E2"])
        #expect(try await database.events(after: 0, through: 2, matching: EventFilter(), limit: 10).map(\.seq) == [1, 2])
    }
}
