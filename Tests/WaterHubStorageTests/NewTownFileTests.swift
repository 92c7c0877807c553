import Foundation
import GRDB
import Testing
import WaterHubCore
@testable import WaterHubStorage
import WaterHubTestSupport

/// A town without a file gets it built apart and put in place whole (the first load of a hub).
@Suite struct NewTownFileTests {
    let directory = TemporaryDirectory("new-town")
    let tenant = Tenant(nisCode: "44021", name: "Gent")
    let recordedAt = Date(timeIntervalSince1970: 1_795_000_000)

    func event(_ id: String, customer: String, amount: Int64, type: EventType = .warningLetter) -> Event {
        Event(source: "aquaflan", sourceEventID: id, type: type, eventDate: .day("2026-11-16"), customerNumber: customer,
              name: "Naam \(id)", postalCode: "9000", amountDueCents: amount)
    }

    /// A history of 60 events over 20 households, then a file with two corrections (one moves an
    /// event to another household), a new event and a repeat.
    func spools() throws -> [TenantDatabase.SpooledBatch] {
        let history = (0..<60).map { event("E\($0)", customer: "C\($0 % 20)", amount: Int64(100 * $0), type: EventType.allCases[$0 % 9]) }
        let corrections = [event("E3", customer: "C3", amount: 999), event("E7", customer: "C19", amount: 700, type: .disconnection),
                           event("E60", customer: "C5", amount: 1), event("E8", customer: "C8", amount: 800, type: EventType.allCases[8])]
        return try [(1, history), (2, corrections)].map { batch, events in
            let path = "\(directory.path)/batch\(batch).spool"
            let writer = try SpoolWriter(path: path)
            for (line, event) in events.enumerated() { try writer.append(event, line: line + 2) }
            try writer.close()
            return TenantDatabase.SpooledBatch(batchID: Int64(batch), fileSHA256: "sha\(batch)", spool: path, expectedCount: events.count)
        }
    }

    /// Every row of the tables a batch writes, as text (the content hashes in hex).
    func contents(_ path: String) throws -> [[String]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let queries = ["SELECT *, hex(content_hash) FROM event ORDER BY seq", "SELECT * FROM household ORDER BY id",
                       "SELECT * FROM household_case ORDER BY household_id", "SELECT * FROM applied_batch ORDER BY batch_id"]
        return try queue.read { db in try queries.map { sql in try Row.fetchAll(db, sql: sql).map(\.description) } }
    }

    @Test func aNewTownFileHoldsExactlyWhatTheUsualPathWrites() async throws {
        let batches = try spools()
        let built = "\(directory.path)/44021-gent.sqlite"
        let results = try #require(try await TenantDatabase.applyToNewFile(tenant: tenant, path: built, batches: batches, recordedAt: recordedAt))
        #expect(results.map(\.stored) == [60, 3] && results.map(\.unchanged) == [0, 1] && results.allSatisfy { !$0.alreadyApplied })

        // The same batches, the usual way (write-ahead log, a transaction per batch), into another file.
        try FileManager.default.createDirectory(atPath: "\(directory.path)/usual", withIntermediateDirectories: true)
        let usual = "\(directory.path)/usual/44021-gent.sqlite"
        let database = try TenantDatabase(tenant: tenant, path: usual)
        #expect(try await database.apply(batches, recordedAt: recordedAt) == results)
        let expected = try contents(usual)
        #expect(expected.map(\.count) == [63, 20, 20, 2])
        #expect(try contents(built) == expected)

        // Like every town file: the write-ahead log, private, sound; nothing left under a hidden name.
        let queue = try DatabaseQueue(path: built)
        let (journal, integrity) = try await queue.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try String.fetchAll(db, sql: "PRAGMA integrity_check"))
        }
        try queue.close()
        #expect(journal == "wal" && integrity == ["ok"])
        let mode = try FileManager.default.attributesOfItem(atPath: built)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".new-") }.isEmpty)

        // Opened the usual way afterwards, it takes the next batch like any town file.
        let reopened = try TenantDatabase(tenant: tenant, path: built)
        let again = try await reopened.apply([batches[1]], recordedAt: recordedAt)
        #expect(again.first?.alreadyApplied == true)
        #expect(try reopened.eventCount() == 63)
    }

    @Test func aTownThatHasAFileIsLeftToTheUsualPath() async throws {
        let path = "\(directory.path)/44021-gent.sqlite"
        let existing = try TenantDatabase(tenant: tenant, path: path)
        #expect(try await TenantDatabase.applyToNewFile(tenant: tenant, path: path, batches: try spools(), recordedAt: recordedAt) == nil)
        #expect(try existing.eventCount() == 0)
    }

    @Test func aFailingBatchLeavesNoFileAtAll() async throws {
        var batches = try spools()
        batches[1].expectedCount += 1          // the second spool gives one event less than routed
        let path = "\(directory.path)/44021-gent.sqlite"
        await #expect(throws: StorageError.self) {
            _ = try await TenantDatabase.applyToNewFile(tenant: tenant, path: path, batches: batches, recordedAt: recordedAt)
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the first batch alone is not put in place")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".new-") }.isEmpty)
    }

    /// A new file is built without per-row reference checks; the check over the whole file
    /// before it is committed must catch what they would have caught.
    @Test func theWholeFileCheckCatchesARowThatRefersToNothing() throws {
        let queue = try DatabaseQueue(path: "\(directory.path)/references.sqlite")
        defer { try? queue.close() }
        try TenantDatabase.migrator.migrate(queue)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "INSERT INTO household (id, source, kind, identifier) VALUES (1, 'aquaflan', 'customer', 'C1')")
            let insertEvent = "INSERT INTO event (source, source_event_id, version, is_current, content_hash, household_id, type, event_date, protected_customer, batch_id, line) VALUES ('aquaflan', ?, 1, 1, x'00', ?, 'warning_letter', '2026-11-16', 'unknown', 1, 2)"
            try db.execute(sql: insertEvent, arguments: ["E1", 1])
            try TenantDatabase.checkReferences(db)                  // sound: passes
            try db.execute(sql: insertEvent, arguments: ["E2", 2])  // household 2 does not exist
            #expect(throws: StorageError.self) { try TenantDatabase.checkReferences(db) }
            try db.execute(sql: "DELETE FROM event WHERE household_id = 2")
            try TenantDatabase.checkReferences(db)
            try db.execute(sql: "INSERT INTO household_case (household_id, state, opened_on, last_event_on, protected_customer, event_count, state_date, state_seq) VALUES (3, 'warned', '2026-11-16', '2026-11-16', 'unknown', 1, '2026-11-16', 1)")
            #expect(throws: StorageError.self) { try TenantDatabase.checkReferences(db) }
            try db.execute(sql: "DELETE FROM household_case")
            try db.execute(sql: "INSERT INTO contact (household_id, contact_date, method, outcome, role, idempotency_key, request_hash, token_id, recorded_at) VALUES (4, '2026-11-16', 'card', 'reached', 'social_worker', 'k1', x'00', 't', '2026-11-16T10:00:00.000Z')")
            #expect(throws: StorageError.self) { try TenantDatabase.checkReferences(db) }

            // The check covers every reference the schema declares, and no other.
            let declared = try Row.fetchAll(db, sql: """
                SELECT m.name, f."from", f."table", f."to" FROM sqlite_schema AS m JOIN pragma_foreign_key_list(m.name) AS f
                WHERE m.type = 'table' ORDER BY m.name
                """).map { "\($0[0] as String).\($0[1] as String) -> \($0[2] as String).\($0[3] as String)" }
            #expect(declared == TenantDatabase.references.map { "\($0.0).\($0.1) -> \($0.2).\($0.3)" }.sorted())
        }
    }

    @Test func filesACrashLeftHalfBuiltAreRemovedAndNothingElse() throws {
        let half = directory.write(".44021-gent.sqlite.new-0C2B6F1E", "half")
        let town = directory.write("11002-antwerpen.sqlite", "town")
        let other = directory.write(".town-template-v6", "template")
        TenantDatabase.removeUnfinishedNewFiles(in: directory.path)
        #expect(!FileManager.default.fileExists(atPath: half))
        #expect(FileManager.default.fileExists(atPath: town) && FileManager.default.fileExists(atPath: other))
    }
}
