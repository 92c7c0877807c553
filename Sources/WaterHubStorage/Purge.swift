import Foundation
import GRDB
import GRDBSQLite
import WaterHubCore

/// What a purge or an erasure removed: counts, never people.
public struct PurgeCounts: Sendable, Hashable {
    public var households = 0
    public var events = 0
    /// False when the write-ahead log, which still holds purged values, could not be emptied
    /// right after (a reader held an older snapshot); the next retention pass (daily in `serve`)
    /// or erasure in the town empties it (a mark in the town file remembers).
    public var logEmptied = true

    public init(households: Int = 0, events: Int = 0) {
        self.households = households
        self.events = events
    }
}

extension TenantDatabase {
    /// The columns that hold personal data; a purge sets them to NULL and keeps the row, so the
    /// town's sequence numbers, counts and the ledger's reconciliation stay as they were.
    static let personalColumns = ["customer_number", "connection_id", "name", "street", "house_number", "box",
                                  "postal_code", "municipality", "phone", "email", "amount_due_cents", "note"]

    /// Purges the personal data of every closed case (limiter removed, reconnected) whose last
    /// event is before `cutoff`; then empties the write-ahead log if this pass or an earlier one
    /// left purged values in it (an earlier pass's log may have been kept by a busy reader).
    public func purgeClosedCases(lastEventBefore cutoff: CalendarDate, at date: Date = Date()) throws -> PurgeCounts {
        var (counts, logHoldsPurged) = try pool.write { db in
            let closed = CodeCheck.inList("c.state", CaseState.allCases.filter(\.isClosed).map(\.rawValue))
            let households = try Int64.fetchAll(db, sql: """
                SELECT c.household_id FROM household_case c JOIN household h ON h.id = c.household_id
                WHERE \(closed) AND c.last_event_on < ? AND h.purged_at IS NULL
                """, arguments: [cutoff.iso])
            let counts = try purge(households, in: db, at: date)
            return (counts, try TenantDatabase.logHoldsPurged(db))
        }
        if logHoldsPurged { counts.logEmptied = emptyPurgedLog() }
        return counts
    }

    /// Erases one household's personal data on request (the right to erasure), then empties the
    /// write-ahead log; nil when the key is not a household of this town.
    public func erase(householdKey: String, at date: Date = Date()) throws -> PurgeCounts? {
        let erased = try pool.write { db in
            try householdID(householdKey, in: db).map { try purge([$0], in: db, at: date) }
        }
        guard var counts = erased else { return nil }
        counts.logEmptied = emptyPurgedLog()
        return counts
    }

    /// A mark in `meta`, set with every purge and cleared once the log is empty: the log holds
    /// purged values until then.
    private static let logMark = "log_holds_purged"

    private static func logHoldsPurged(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM meta WHERE name = ?", arguments: [logMark]) ?? false
    }

    /// Empties the write-ahead log and clears the mark; false when a reader kept the log (the
    /// mark stays, and the next retention pass or erasure tries again).
    private func emptyPurgedLog() -> Bool {
        guard StorageConfiguration.emptyLog(pool) else { return false }
        // Clearing the mark writes the meta page to the log (no personal data); empty it again.
        if (try? pool.write({ db in try db.execute(sql: "DELETE FROM meta WHERE name = ?", arguments: [TenantDatabase.logMark]) })) != nil {
            StorageConfiguration.emptyLog(pool)
        }
        return true
    }

    private func purge(_ households: [Int64], in db: Database, at date: Date) throws -> PurgeCounts {
        var counts = PurgeCounts()
        guard !households.isEmpty else { return counts }
        try db.execute(sql: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, x'01')", arguments: [TenantDatabase.logMark])
        let stamp = StorageConfiguration.timestamp(date)
        // Blanked fields no longer say what the company sent: each version keeps the hash of what
        // it held (`ContentHash`), so that the same event sent again stays a repeat.
        let unhashed = try db.cachedStatement(sql: """
            SELECT seq, \(EventWriter.fieldColumns.joined(separator: ", ")) FROM event WHERE household_id = ? AND content_hash IS NULL
            """)
        let keepHash = try db.cachedStatement(sql: "UPDATE event SET content_hash = ? WHERE seq = ?")
        let clearEvents = try db.cachedStatement(sql: """
            UPDATE event SET \(TenantDatabase.personalColumns.map { "\($0) = NULL" }.joined(separator: ", ")) WHERE household_id = ?
            """)
        let clearCase = try db.cachedStatement(sql: "UPDATE household_case SET amount_due_cents = NULL WHERE household_id = ?")
        let clearContacts = try db.cachedStatement(sql: "UPDATE contact SET next_step = NULL WHERE household_id = ?")
        let markHousehold = try db.cachedStatement(sql: "UPDATE household SET identifier = 'purged:' || id, purged_at = ? WHERE id = ?")
        for household in households {
            var hashes: [(seq: Int64, hash: ContentHash.Digest)] = []
            let handle = unhashed.sqliteStatement
            try SQLiteBinding.integer(handle, 1, household, db)
            try SQLiteBinding.forEachRow(handle, db) {
                hashes.append((sqlite3_column_int64(handle, 0), ContentHash.ofStored(handle, from: 1)))
            }
            for (seq, hash) in hashes {
                try keepHash.execute(arguments: [hash.data, seq])
            }
            try clearEvents.execute(arguments: [household])
            counts.events += db.changesCount
            try clearCase.execute(arguments: [household])
            try clearContacts.execute(arguments: [household])
            try markHousehold.execute(arguments: [stamp, household])
            counts.households += 1
        }
        return counts
    }
}

extension Ledger {
    /// Writes what a purge removed to the purge log (counts only).
    public func recordPurge(tenant: String?, kind: String, households: Int = 0, events: Int = 0, files: Int = 0,
                            quarantinedRows: Int = 0, at date: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO purge_log (at, tenant, kind, households, events, files, quarantined_rows) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [StorageConfiguration.timestamp(date), tenant, kind, households, events, files, quarantinedRows])
        }
    }

    /// The purge log, oldest first.
    public func purgeLog() throws -> [(at: Date, tenant: String?, kind: String, households: Int, events: Int, files: Int, quarantinedRows: Int)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT at, tenant, kind, households, events, files, quarantined_rows FROM purge_log ORDER BY id").map { row in
                (StorageConfiguration.date(fromTimestamp: row[0]) ?? Date(timeIntervalSince1970: 0), row[1], row[2], row[3], row[4], row[5], row[6])
            }
        }
    }

    /// Deliveries of a source received before `cutoff` whose raw file is still kept.
    public func deliveriesToPurge(source: String, receivedBefore cutoff: Date) throws -> [Delivery] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, source, sha256, bytes, archive_path FROM delivery WHERE source = ? AND received_at < ? AND purged_at IS NULL
                """, arguments: [source, StorageConfiguration.timestamp(cutoff)]).map {
                Delivery(id: $0[0], source: $0[1], sha256: $0[2], bytes: $0[3], archivePath: $0[4])
            }
        }
    }

    /// Marks a delivery's raw file as purged and clears the raw rows quarantined from it;
    /// returns how many quarantined rows lost their raw text.
    /// The caller empties the log afterwards (`emptyLog`), once for all the deliveries it purges.
    public func markPurged(_ delivery: Delivery, at date: Date = Date()) throws -> Int {
        try pool.write { db in
            try db.execute(sql: "UPDATE delivery SET purged_at = ? WHERE id = ?", arguments: [StorageConfiguration.timestamp(date), delivery.id])
            try db.execute(sql: """
                UPDATE quarantine SET raw = NULL WHERE raw IS NOT NULL AND batch_id IN (SELECT id FROM batch WHERE delivery_id = ?)
                """, arguments: [delivery.id])
            return db.changesCount
        }
    }

    /// Empties the ledger's write-ahead log after raw rows were cleared (`StorageConfiguration.emptyLog`).
    @discardableResult
    public func emptyLog() -> Bool {
        StorageConfiguration.emptyLog(pool)
    }
}
