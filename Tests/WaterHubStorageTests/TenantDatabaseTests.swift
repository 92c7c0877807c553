import Foundation
import GRDB
import Testing
import WaterHubCore
@testable import WaterHubStorage
import WaterHubTestSupport

@Suite struct TenantDatabaseTests {
    let directory = TemporaryDirectory("storage")
    let tenant = Tenant(nisCode: "44021", name: "Gent")

    func database() throws -> TenantDatabase {
        try TenantDatabase(tenant: tenant, path: "\(directory.path)/44021-gent.sqlite")
    }

    func event(_ id: String, customer: String = "C1", amount: Int64 = 1000, type: EventType = .warningLetter) -> SpooledEvent {
        SpooledEvent(event: Event(source: "aquaflan", sourceEventID: id, type: type, eventDate: .day("2026-11-16"),
                                  customerNumber: customer, postalCode: "9000", amountDueCents: amount), line: 2)
    }

    /// What the API's page cache relies on: the version stays while nothing changes, changes with
    /// a write by any connection, and never equals a version of another watching connection
    /// (each counts from the start again, so a town closed and opened again matches nothing).
    @Test func theDataVersionChangesWithAnyWriteAndBelongsToItsConnection() throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "abc", events: [event("E1")])
        let first = try #require(database.dataVersion())
        #expect(database.dataVersion() == first, "nothing changed")
        _ = try database.apply(batchID: 2, fileSHA256: "def", events: [event("E2")])
        let afterOwnWrite = try #require(database.dataVersion())
        #expect(afterOwnWrite != first, "a write through the town's own pool")
        let other = try DatabaseQueue(path: "\(directory.path)/44021-gent.sqlite")
        try other.write { db in try db.execute(sql: "UPDATE event SET note = 'x' WHERE source_event_id = 'E1'") }
        try other.close()
        #expect(database.dataVersion() != afterOwnWrite, "a write by another connection")
        let reopened = try TenantDatabase(tenant: tenant, path: "\(directory.path)/44021-gent.sqlite")
        let again = try #require(reopened.dataVersion())
        #expect(again != first && again != afterOwnWrite && again.generation != first.generation)
    }

    @Test func aBatchAppliedTwiceStoresEachEventOnce() throws {
        let database = try database()
        let events = [event("E1"), event("E2"), event("E3", customer: "C2")]
        let first = try database.apply(batchID: 1, fileSHA256: "abc", events: events)
        let second = try database.apply(batchID: 1, fileSHA256: "abc", events: events)
        #expect(first.stored == 3 && !first.alreadyApplied)
        #expect(second.alreadyApplied && second.stored == 3)
        #expect(try database.eventCount() == 3)
    }

    @Test func theSameRowInALaterBatchChangesNothing() throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: [event("E1")])
        let again = try database.apply(batchID: 2, fileSHA256: "b", events: [event("E1")])
        #expect(again.unchanged == 1 && again.stored == 0)
        #expect(try database.eventCount() == 1)
    }

    @Test func aCorrectionIsANewVersionAndTheOldOneIsKept() async throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: [event("E1", amount: 1000), event("E2")])
        _ = try database.apply(batchID: 2, fileSHA256: "b", events: [event("E1", amount: 1500)])
        let all = try await database.events(after: 0, limit: 10)
        // Strictly increasing, never reused; a skipped insert may leave a gap (SQLite's AUTOINCREMENT).
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.seq < $1.seq })
        #expect(all.map(\.event.sourceEventID) == ["E1", "E2", "E1"])
        #expect(all.map(\.version) == [1, 1, 2])
        #expect(all.map(\.isCurrent) == [false, true, true])
        #expect(all[2].event.amountDueCents == 1500)
        #expect(all[0].household == all[2].household)
        #expect(all[2].provenance.batchID == 2)
    }

    /// An event id sent again is a correction when any one field differs from what the company
    /// sent before (a value changed, or left out), and changes nothing when every field is the same.
    @Test func aRepeatIsToldFromACorrectionByEveryField() async throws {
        let database = try database()
        let fields = EventField.allCases.filter { $0 != .sourceEventID }
        let ids = fields.map { "E-\($0.rawValue)" } + ["E-same"]
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: ids.enumerated().map { SpooledEvent(event: Event.withEveryField($1), line: $0 + 2) })
        let later = fields.enumerated().map { SpooledEvent(event: Event.withEveryField(ids[$0]).changing($1), line: $0 + 2) }
            + [SpooledEvent(event: Event.withEveryField("E-same"), line: 99)]
        let result = try database.apply(batchID: 2, fileSHA256: "b", events: later)
        #expect(result.stored == fields.count && result.unchanged == 1)
        let current = try await database.events(after: 0, limit: 100).filter(\.isCurrent)
        #expect(current.count == ids.count)
        for (index, field) in fields.enumerated() {
            let stored = try #require(current.first { $0.event.sourceEventID == ids[index] })
            #expect(stored.version == 2 && stored.event == Event.withEveryField(ids[index]).changing(field), "\(field)")
        }
        #expect(current.first { $0.event.sourceEventID == "E-same" }?.version == 1)
    }

    /// An erased household stays erased when its company sends the same events again (a feed
    /// repeated, an archive replayed): what the company sent is recognised after its personal
    /// fields are gone from the town file, so nothing of it is stored again.
    @Test func anErasedHouseholdStaysErasedWhenItsEventsComeAgain() async throws {
        let database = try database()
        let original = Event.withEveryField("E1")
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: [SpooledEvent(event: original, line: 2)])
        let key = try #require(try await database.events(after: 0, limit: 10).first?.household)
        _ = try #require(try database.erase(householdKey: key))
        let again = try database.apply(batchID: 2, fileSHA256: "b", events: [SpooledEvent(event: original, line: 2)])
        #expect(again.unchanged == 1 && again.stored == 0)
        let all = try await database.events(after: 0, limit: 10)
        #expect(all.count == 1 && all[0].event.name == nil && all[0].event.street == nil && all[0].event.phone == nil)
        let reader = try DatabaseQueue(path: "\(directory.path)/44021-gent.sqlite")
        let identifiers = try await reader.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM household") }
        try reader.close()
        #expect(!identifiers.contains("C1"), "the customer number is not stored again with a household of its own")
        // The company corrects it: that is still a new version.
        let corrected = try database.apply(batchID: 3, fileSHA256: "c", events: [SpooledEvent(event: original.changing(.phone), line: 2)])
        #expect(corrected.stored == 1 && corrected.unchanged == 0)
    }

    /// A town file from before v9 keeps every version's hash, and the hash still decides: a
    /// version whose personal fields a purge blanked there stays a repeat when the company sends
    /// it again, and changed, it is a correction.
    @Test func aFileFromBeforeV9KeepsTheHashesItsPurgesNeed() async throws {
        let path = "\(directory.path)/44021-gent.sqlite"
        let queue = try DatabaseQueue(path: path)
        try TenantDatabase.migrator.migrate(queue, upTo: "v8: event numbers given by the writer, not by AUTOINCREMENT")
        let original = Event.withEveryField("E1")
        let hash = try original.contentHash.data
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO household (id, source, kind, identifier, purged_at) VALUES (5, 'aquaflan', 'customer', 'purged:5', '2026-11-16T00:00:00.000Z')")
            try db.execute(sql: "INSERT INTO batch_file (batch_id, file_sha256, recorded_at) VALUES (1, 'f', '2026-11-16T00:00:00.000Z')")
            // What a purge left of the event: no personal field.
            try db.execute(sql: """
                INSERT INTO event (seq, source, source_event_id, version, is_current, content_hash, household_id, type, event_date,
                                   nis_code, protected_customer, batch_id, line)
                VALUES (1, 'aquaflan', 'E1', 1, 1, ?, 5, 'disconnection', '2025-02-28', '44021', 'yes', 1, 2)
                """, arguments: [hash])
        }
        try queue.close()
        let database = try TenantDatabase(tenant: tenant, path: path)
        #expect(try database.apply(batchID: 2, fileSHA256: "b", events: [SpooledEvent(event: original, line: 2)]).unchanged == 1)
        #expect(try await database.events(after: 0, limit: 10).map(\.event.name) == [nil])
        #expect(try database.apply(batchID: 3, fileSHA256: "c", events: [SpooledEvent(event: original.changing(.box), line: 2)]).stored == 1)
        let reopened = try DatabaseQueue(path: path)
        defer { try? reopened.close() }
        try await reopened.read { db in
            let hashes = try Row.fetchAll(db, sql: "SELECT content_hash FROM event ORDER BY seq").map { $0[0] as Data? }
            #expect(hashes == [hash, nil], "the old version keeps its hash, the new one stores none")
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
        }
    }

    @Test func householdKeysAreOpaqueAndPerHousehold() async throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: [event("E1"), event("E2", customer: "C2"), event("E3")])
        let keys = try await database.events(after: 0, limit: 10).map(\.household)
        #expect(keys[0] == keys[2] && keys[0] != keys[1])
        #expect(!keys[0].contains("C1") && keys[0].count == 13)
        // A key stands for its household in this town only: another town's file has another secret.
        let other = try TenantDatabase(tenant: Tenant(nisCode: "11002", name: "Antwerpen"), path: "\(directory.path)/11002-antwerpen.sqlite")
        _ = try other.apply(batchID: 1, fileSHA256: "a", events: [event("E1"), event("E2", customer: "C2"), event("E3")])
        let otherKeys = try await other.events(after: 0, limit: 10).map(\.household)
        #expect(Set(otherKeys).isDisjoint(with: keys))
        #expect(try await other.events(ofHousehold: keys[0]) == nil)
        #expect(try await database.events(ofHousehold: keys[0])?.count == 2)
    }

    /// Cases kept incrementally across batches (new events, out-of-order dates, corrections, a
    /// small case cache that flushes mid-batch, households new in each batch whose steps are
    /// collected and written in several rounds, corrections that move an event to such a
    /// household) equal cases rebuilt from the current events.
    @Test func storedCasesEqualARebuildFromTheCurrentEvents() async throws {
        let database = try TenantDatabase(tenant: tenant, path: "\(directory.path)/44021-gent.sqlite", caseCacheCapacity: 7)
        var state: UInt64 = 7
        func next(_ bound: UInt64) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int((state >> 33) % bound) }
        var batch: Int64 = 0
        for _ in 0..<6 {
            batch += 1
            var events: [SpooledEvent] = []
            for _ in 0..<400 {
                let id = "E\(next(900))"
                let type = EventType.allCases[next(9)]
                let date = CalendarDate.day("2026-01-01").adding(days: next(200))
                let amount: Int64? = next(3) == 0 ? nil : Int64(next(50_000))
                let event = Event(source: "aquaflan", sourceEventID: id, type: type, eventDate: date, customerNumber: "C\(next(UInt64(20 + 20 * batch)))",
                                  postalCode: "9000", amountDueCents: amount, protectedCustomer: ProtectedStatus.allCases[next(3)])
                if !events.contains(where: { $0.event.sourceEventID == id }) { events.append(SpooledEvent(event: event, line: events.count + 2)) }
            }
            _ = try database.apply(batchID: batch, fileSHA256: "f\(batch)", events: events)
        }
        let byHousehold = try await database.currentEventsByHousehold()
        let cases = try await database.cases(limit: 10_000)
        #expect(cases.count == byHousehold.count)
        for stored in cases {
            let rebuilt = HouseholdCase(events: byHousehold[stored.key] ?? [])
            #expect(stored.householdCase == rebuilt, "household \(stored.key)")
        }
        let corrected = try await database.events(after: 0, limit: 100_000).filter { $0.version > 1 }
        #expect(!corrected.isEmpty)
    }

    @Test func aCorrectionThatMovesAHouseholdsOnlyEventLeavesNoEmptyCase() async throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: [event("E1", customer: "C1"), event("E2", customer: "C2")])
        _ = try database.apply(batchID: 2, fileSHA256: "b", events: [event("E1", customer: "C2")])
        let cases = try await database.cases(limit: 10)
        #expect(cases.count == 1)
        #expect(cases.first?.householdCase.eventCount == 2)
    }

    @Test func aSpoolThatDoesNotMatchItsCountWritesNothing() throws {
        let database = try database()
        #expect(throws: StorageError.self) {
            try database.apply(batchID: 1, fileSHA256: "a", events: [event("E1")], expectedCount: 2)
        }
        #expect(try database.eventCount() == 0)
        #expect(try database.hasApplied(batchID: 1) == false)
    }

    /// The code CHECKs still refuse what they refused, in the form that needs no lookup table per
    /// row (no `IN` list of codes is left in the tables an ingest writes).
    @Test func codeChecksRefuseUnknownCodes() throws {
        let path = "\(directory.path)/44021-gent.sqlite"
        _ = try database().apply(batchID: 1, fileSHA256: "abc", events: [event("E1")])
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let tables = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_schema WHERE name IN ('event', 'household_case')")
        }
        #expect(tables.count == 2)
        for sql in tables { #expect(!sql.contains(" IN ('"), "\(sql)") }
        // Each rule on its own: a known code passes, an unknown one breaks exactly that CHECK.
        func refusedByACheck(_ sql: String) -> Bool {
            do {
                try queue.write { db in try db.execute(sql: sql) }
                return false
            } catch let error as DatabaseError {
                return error.extendedResultCode == .SQLITE_CONSTRAINT_CHECK
            } catch {
                return false
            }
        }
        for (table, column, known, unknown) in [("event", "type", "reconnection", "bogus"), ("event", "protected_customer", "unknown", "maybe"),
                                                ("household_case", "state", "disconnected", "forgotten"),
                                                ("household_case", "protected_customer", "yes", "maybe")] {
            #expect(!refusedByACheck("UPDATE \(table) SET \(column) = '\(known)'"), "\(table).\(column) = \(known)")
            #expect(refusedByACheck("UPDATE \(table) SET \(column) = '\(unknown)'"), "\(table).\(column) = \(unknown)")
        }
    }

    /// The codes the town files' CHECKs accept are every code WaterHub writes, no more.
    @Test func theCheckedCodesAreTheEnumsCodes() {
        #expect(TenantDatabase.checkedEventTypes == EventType.allCases.map(\.rawValue))
        #expect(TenantDatabase.checkedCaseStates == CaseState.allCases.map(\.rawValue))
        #expect(TenantDatabase.checkedContactMethods == ContactMethod.allCases.map(\.rawValue))
        #expect(TenantDatabase.checkedContactOutcomes == ContactOutcome.allCases.map(\.rawValue))
    }

    /// A table rebuilt once is named in quotes in its new definition; it can be rebuilt again,
    /// as the migration that adds a code to a checked list will do.
    @Test func aRebuiltTableCanBeRebuiltAgainToAcceptANewCode() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (x TEXT CHECK (x IN ('a', 'b', 'c')), y TEXT CHECK (y IN ('d', 'e', 'f')))")
            try db.execute(sql: "INSERT INTO t VALUES ('a', 'd')")
            try CodeCheck.rebuild("t", rewriting: CodeCheck.inListsAsOneOf([("x", ["a", "b", "c"]), ("y", ["d", "e", "f"])]), in: db)
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO t VALUES ('g', 'd')") }
            try CodeCheck.rebuild("t", rewriting: [(CodeCheck.oneOf("x", ["a", "b", "c"]), CodeCheck.oneOf("x", ["a", "b", "c", "g"]))], in: db)
            try db.execute(sql: "INSERT INTO t VALUES ('g', 'd')")
            #expect(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 't'")?.contains(" IN (") == false)
            #expect(try Row.fetchAll(db, sql: "SELECT x, y FROM t ORDER BY x") == [["x": "a", "y": "d"], ["x": "g", "y": "d"]])
        }
    }

    /// A town file written by an older WaterHub (migrated up to `migration`): one household,
    /// events E1, E2, … from the given batches (event i on line i + 1, batch b from file
    /// `sha-of-file-b`, recorded on 2026-11-1b), the last one removed again as a purge would.
    func olderFile(upTo migration: String, batches: [Int]) throws -> String {
        let path = "\(directory.path)/44021-gent.sqlite"
        let queue = try DatabaseQueue(path: path)
        try TenantDatabase.migrator.migrate(queue, upTo: migration)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO household (id, source, kind, identifier) VALUES (5, 's', 'customer', 'C1')")
            for (index, batch) in batches.enumerated() {
                try db.execute(sql: """
                    INSERT INTO event (source, source_event_id, version, is_current, content_hash, household_id, type, event_date,
                                       protected_customer, batch_id, file_sha256, line, recorded_at)
                    VALUES ('s', 'E\(index + 1)', 1, 1, x'00', 5, 'disconnection', '2026-11-16', 'no', \(batch), 'sha-of-file-\(batch)',
                            \(index + 2), '2026-11-1\(batch)T00:00:00.000Z')
                    """)
            }
            try db.execute(sql: "DELETE FROM event WHERE seq = ?", arguments: [batches.count])
        }
        try queue.close()
        return path
    }

    /// A town file from before the cheaper checks is rebuilt: its rows, its indexes, and its
    /// event counter, which stays above events a purge removed (a town's cursor never sees a
    /// number twice).
    @Test func aFileFromBeforeTheCheaperChecksKeepsRowsIndexesAndCounter() async throws {
        let path = try olderFile(upTo: "v5: computed household keys", batches: [1, 1, 1])
        let database = try TenantDatabase(tenant: tenant, path: path)
        #expect(try await database.events(after: 0, limit: 10).map(\.seq) == [1, 2])
        _ = try database.apply(batchID: 2, fileSHA256: "def", events: [event("E9")])
        #expect(try await database.events(after: 2, limit: 10).map(\.seq) == [4])
        let reopened = try DatabaseQueue(path: path)
        defer { try? reopened.close() }
        let indexes = try await reopened.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'event' ORDER BY name")
        }
        #expect(indexes == ["event_by_household", "sqlite_autoindex_event_1"])
    }

    /// A town file from before `batch_file` keeps each event's file and recording time, now
    /// once per batch; its event rows lose the two repeated columns and keep everything else.
    @Test func aFileFromBeforeBatchFilesKeepsEachEventsProvenance() async throws {
        let path = try olderFile(upTo: "v6: code checks without a lookup table per row", batches: [1, 2, 2])
        let database = try TenantDatabase(tenant: tenant, path: path)
        let events = try await database.events(after: 0, limit: 10)
        #expect(events.map(\.provenance) == [.init(batchID: 1, fileSHA256: "sha-of-file-1", line: 2),
                                              .init(batchID: 2, fileSHA256: "sha-of-file-2", line: 3)])
        _ = try database.apply(batchID: 3, fileSHA256: "sha-of-file-3", events: [event("E9")], recordedAt: Date(timeIntervalSince1970: 1_795_000_000))
        let after = try await database.events(after: 2, limit: 10)
        #expect(after.map(\.seq) == [4], "the counter stays above the purged event")
        #expect(after.map(\.provenance.fileSHA256) == ["sha-of-file-3"])
        let reopened = try DatabaseQueue(path: path)
        defer { try? reopened.close() }
        try await reopened.read { db in
            let columns = try db.columns(in: "event").map(\.name)
            #expect(!columns.contains("file_sha256") && !columns.contains("recorded_at") && columns.contains("line"))
            let files = try Row.fetchAll(db, sql: "SELECT batch_id, file_sha256, recorded_at FROM batch_file ORDER BY batch_id")
            #expect(files.map { $0[1] as String } == ["sha-of-file-1", "sha-of-file-2", "sha-of-file-3"])
            #expect(files.map { ($0[2] as String).prefix(10) } == ["2026-11-11", "2026-11-12", "2026-11-18"])
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
        }
    }

    /// A town file from before the writer numbered the events: its event table loses
    /// AUTOINCREMENT and keeps rows and indexes; the counter AUTOINCREMENT kept (above an event
    /// that is gone) becomes the floor the writer numbers above.
    @Test func aFileFromBeforeWriterNumberedEventsKeepsItsCounterAsTheFloor() async throws {
        let path = try olderFile(upTo: "v6: code checks without a lookup table per row", batches: [1, 1, 1])
        let queue = try DatabaseQueue(path: path)
        try TenantDatabase.migrator.migrate(queue, upTo: "v7: a batch's file and time once per batch, not on every event")
        try queue.close()
        let database = try TenantDatabase(tenant: tenant, path: path)
        _ = try database.apply(batchID: 2, fileSHA256: "def", events: [event("E9"), event("E10")])
        #expect(try await database.events(after: 0, limit: 10).map(\.seq) == [1, 2, 4, 5], "3 was given before: never again")
        let reopened = try DatabaseQueue(path: path)
        defer { try? reopened.close() }
        try await reopened.read { db in
            let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'event'") ?? ""
            #expect(table.contains("seq INTEGER PRIMARY KEY,") && !table.contains("AUTOINCREMENT"))
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_sequence WHERE name = 'event'") == 0)
            #expect(try Int64.fetchAll(db, sql: "SELECT seq FROM event_seq_floor") == [3])
            #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'event' ORDER BY name")
                    == ["event_by_household", "sqlite_autoindex_event_1"])
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
        }
    }

    /// After a migration that rebuilt a table, a file that is more than a quarter free space is
    /// rewritten compactly; one with little free space is left as it is.
    @Test func aFileLeftMostlyFreeByAMigrationIsCompacted() throws {
        let pool = try DatabasePool(path: "\(directory.path)/compact.sqlite")
        defer { try? pool.close() }
        func pages() throws -> (count: Int, free: Int) {
            try pool.read { db in (try Int.fetchOne(db, sql: "PRAGMA page_count")!, try Int.fetchOne(db, sql: "PRAGMA freelist_count")!) }
        }
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE kept (x TEXT); CREATE TABLE old (x TEXT)")
            try db.execute(sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO kept SELECT printf('%0100d', i) FROM n")
            try db.execute(sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO old SELECT printf('%0100d', i) FROM n")
            try db.execute(sql: "DROP TABLE old")
        }
        let little = try pages()
        #expect(little.free > 0 && little.free * 4 < little.count)
        try StorageConfiguration.compactAfterMigrating(pool)
        #expect(try pages() == little, "a little free space is left to later rows")

        try pool.write { db in
            try db.execute(sql: "CREATE TABLE old (x TEXT)")
            try db.execute(sql: "INSERT INTO old SELECT x FROM kept")
            try db.execute(sql: "DROP TABLE old")
        }
        #expect(try pages().free * 4 > pages().count)
        try StorageConfiguration.compactAfterMigrating(pool)
        let compacted = try pages()
        #expect(compacted.free == 0 && compacted.count <= little.count)
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM kept") } == 2000)
    }

    /// The writer numbers above the floor as well as above the table (rows with the highest
    /// numbers may be gone), and a correction's new version gets the next number too.
    @Test func eventNumbersStayAboveTheFloor() async throws {
        let database = try database()
        _ = try database.apply(batchID: 1, fileSHA256: "abc", events: [event("E1"), event("E2")])
        let queue = try DatabaseQueue(path: "\(directory.path)/44021-gent.sqlite")
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM event WHERE seq = 2")
            try db.execute(sql: "UPDATE event_seq_floor SET seq = 7")
        }
        try queue.close()
        _ = try database.apply(batchID: 2, fileSHA256: "def", events: [event("E3"), event("E1", amount: 1)])
        let events = try await database.events(after: 0, limit: 10)
        #expect(events.map(\.seq) == [1, 8, 9])
        #expect(events.map(\.event.sourceEventID) == ["E1", "E3", "E1"])
    }

    @Test func aFileFromANewerWaterHubIsRefused() throws {
        let path = "\(directory.path)/44021-gent.sqlite"
        _ = try database()
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99: from the future')") }
        #expect {
            _ = try TenantDatabase(tenant: tenant, path: path)
        } throws: { error in
            (error as? StorageError)?.code == .newerSchema && "\(error)".contains("newer WaterHub")
        }
    }
}

@Suite struct SpoolTests {
    let directory = TemporaryDirectory("spool")

    @Test func eventsSurviveTheSpoolExactly() throws {
        let event = Event(source: "s", sourceEventID: "E;1\n", type: .reconnection, eventDate: .day("2026-02-28"), customerNumber: "C",
                          connectionID: nil, name: "Zoë ;\"x\"", postalCode: "1804", municipality: "Zemst", amountDueCents: 123_456,
                          protectedCustomer: .yes, note: String(repeating: "n", count: 5000))
        let writer = try SpoolWriter(path: "\(directory.path)/a.spool")
        for line in 1...1000 {
            // Both ways of writing give the same bytes.
            if line % 2 == 0 { try writer.append(event, line: line) } else { try writer.append(SpooledEvent(event: event, line: line).spoolFields) }
        }
        try writer.close()
        var reader = try SpoolReader(path: "\(directory.path)/a.spool")
        var count = 0
        while let fields = reader.next() {
            count += 1
            #expect(SpooledEvent(spoolFields: fields) == SpooledEvent(event: event, line: count))
        }
        #expect(count == 1000 && !reader.damaged)
    }

    /// What the apply reads in place from a spooled record (type, date, amount, protected
    /// status, household) is what was spooled, for every event type.
    @Test func recordsReadInPlaceGiveBackTheEvent() throws {
        let events = EventType.allCases.enumerated().map { index, type in
            Event(source: "s", sourceEventID: "E\(index)", type: type, eventDate: .day("2026-0\(index % 9 + 1)-2\(index)"),
                  customerNumber: index % 2 == 0 ? "C\(index)" : nil, connectionID: "K\(index)", amountDueCents: index % 3 == 0 ? nil : Int64(index * 1001),
                  protectedCustomer: [.yes, .no, .unknown][index % 3])
        }
        let writer = try SpoolWriter(path: "\(directory.path)/c.spool")
        for (line, event) in events.enumerated() { try writer.append(event, line: line + 2) }
        try writer.close()
        var reader = try SpoolReader(path: "\(directory.path)/c.spool")
        var ranges: [Range<Int>?] = []
        for event in events {
            let read = try reader.withNextEvent(ranges: &ranges) { record in
                (record.type, record.eventDate, record.amountDueCents, record.protectedCustomer, record.householdKey)
            }
            #expect(read?.0 == event.type && read?.1 == event.eventDate && read?.2 == event.amountDueCents)
            #expect(read?.3 == event.protectedCustomer && read?.4 == event.householdKey)
        }
        #expect(try reader.withNextEvent(ranges: &ranges) { _ in true } == nil)
    }

    @Test func aCutOffSpoolIsDamaged() throws {
        let writer = try SpoolWriter(path: "\(directory.path)/b.spool")
        try writer.append([Array("abc".utf8), nil])
        try writer.append([Array("def".utf8)])
        try writer.close()
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(directory.path)/b.spool"))
        try handle.truncate(atOffset: 14)
        try handle.close()
        var reader = try SpoolReader(path: "\(directory.path)/b.spool")
        #expect(reader.next() != nil)
        #expect(reader.next() == nil)
        #expect(reader.damaged)
    }
}

@Suite struct LedgerTests {
    let directory = TemporaryDirectory("ledger")

    @Test func aTokenOpensOnlyWithItsExactSecret() async throws {
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let (token, info) = try ledger.issueToken(tenant: "11002", scope: .read, label: "case system")
        #expect(try await ledger.authenticate(token)?.tenant == "11002")
        var wrong = Array(token)
        wrong[wrong.count - 1] = wrong[wrong.count - 1] == "A" ? "B" : "A"
        #expect(try await ledger.authenticate(String(wrong)) == nil)
        #expect(try await ledger.authenticate("wh_\(info.id)_") == nil)
        #expect(try await ledger.authenticate("Bearer " + token) == nil)
        #expect(try await ledger.authenticate("") == nil)
        #expect(try ledger.tokens().map(\.id) == [info.id])
    }

    @Test func revokedAndExpiredTokensAreRefusedAtOnce() async throws {
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let now = Date()
        let (revoked, revokedInfo) = try ledger.issueToken(tenant: "11002", scope: .read)
        let (expiring, _) = try ledger.issueToken(tenant: "11002", scope: .read, expiresAt: now.addingTimeInterval(60))
        #expect(try await ledger.authenticate(revoked, at: now) != nil)
        #expect(try ledger.revokeToken(id: revokedInfo.id))
        #expect(try await ledger.authenticate(revoked, at: now) == nil)
        #expect(try await ledger.authenticate(expiring, at: now) != nil)
        #expect(try await ledger.authenticate(expiring, at: now.addingTimeInterval(61)) == nil)

        // An end that is set but unreadable counts as passed: the check fails closed.
        let (garbled, garbledInfo) = try ledger.issueToken(tenant: "11002", scope: .read)
        try await ledger.pool.write { db in try db.execute(sql: "UPDATE token SET revoked_at = 'sometime' WHERE id = ?", arguments: [garbledInfo.id]) }
        #expect(try await ledger.authenticate(garbled, at: now) == nil)
        #expect(try ledger.activeToken(id: garbledInfo.id, at: now) == nil)
    }

    @Test func theLedgerStoresNoSecretOfAToken() throws {
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let (token, _) = try ledger.issueToken(tenant: "11002", scope: .read)
        let secret = String(token.dropFirst("wh_".count + 12 + 1))
        #expect(secret.count == 43)
        let bytes = try #require(FileManager.default.contents(atPath: "\(directory.path)/hub.sqlite"))
        let wal = FileManager.default.contents(atPath: "\(directory.path)/hub.sqlite-wal") ?? Data()
        #expect(!String(decoding: bytes + wal, as: UTF8.self).contains(secret))
    }

    @Test func aBatchThatDoesNotBalanceIsRefused() throws {
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let (_, batch) = try ledger.recordDelivery(source: "s", sha256: "f", bytes: 10, archivePath: "/x", fetchID: nil)
        #expect(throws: StorageError.self) {
            try ledger.completeRouting(batchID: batch, counts: BatchCounts(rowsIn: 5, routed: 3, outsideRegion: 1, quarantined: 0),
                                       eventsPerTenant: ["11002": 3], quarantine: nil)
        }
        #expect(try ledger.batch(batch)?.status == .routing)
    }
}

@Suite struct AuditLogTests {
    @Test func concurrentRequestsAreAllRecordedAndTheTokenRemembersItsLastUse() async throws {
        let directory = TemporaryDirectory("audit")
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let (_, info) = try ledger.issueToken(tenant: "11002", scope: .read)
        let log = AuditLog(ledger: ledger)
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    await log.record(AuditEntry(at: start.addingTimeInterval(Double(index)), tokenID: info.id, tenant: "11002",
                                                method: "GET", endpoint: "/v1/tenants/{nis}/events", status: 200, rows: index))
                }
            }
        }
        let entries = try ledger.audit(tenant: "11002")
        #expect(entries.count == 200)
        #expect(Set(entries.map(\.rows)) == Set(0..<200))
        #expect(await log.failedWrites == 0)
        let lastUsed = try #require(try ledger.tokens().first?.lastUsedAt)
        #expect(abs(lastUsed.timeIntervalSince(start.addingTimeInterval(199))) < 0.01)
    }

    /// The commits that fill the ledger's log leave the checkpoint to the checkpointer's own
    /// connection: with the checkpointer held, commits go on past SQLite's 1,000-page limit (a
    /// commit that checkpointed would start the log over there); let go, it copies the log into
    /// the file, and the log starts over.
    @Test func theLedgersLogIsCheckpointedOffTheCommitPath() async throws {
        let directory = TemporaryDirectory("checkpoint")
        let ledger = try Ledger(path: "\(directory.path)/hub.sqlite")
        let (_, info) = try ledger.issueToken(tenant: "11002", scope: .read)
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        let held = DispatchSemaphore(value: 0)
        ledger.checkpointer.queue.async { held.wait() }
        var frames: [Int] = []
        for index in 0..<600 {
            try await ledger.recordAudit([AuditEntry(at: start.addingTimeInterval(Double(index)), tokenID: info.id, tenant: "11002",
                                                     method: "GET", endpoint: "/v1/tenants/{nis}/events", status: 200, rows: index)])
            if index % 100 == 99 { frames.append(ledger.checkpointer.logPages) }
        }
        #expect(frames == frames.sorted() && frames.last! > LogCheckpointer.pagesBeforeCheckpoint, "the log grew on: \(frames)")
        #expect(ledger.checkpointer.checkpointsRun == 0)
        held.signal()
        // Bounded wait for the checkpoint that was asked for meanwhile (at most 10 s).
        for _ in 0..<200 where ledger.checkpointer.checkpointsRun == 0 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(ledger.checkpointer.checkpointsRun == 1)
        try await ledger.recordAudit([AuditEntry(at: start, tokenID: info.id, tenant: "11002", method: "GET",
                                                 endpoint: "/v1/tenants/{nis}/events", status: 200, rows: 0)])
        #expect(ledger.checkpointer.logPages < 100, "the log started over after the checkpoint")
        #expect(try ledger.audit(tenant: "11002").count == 601)
    }
}
