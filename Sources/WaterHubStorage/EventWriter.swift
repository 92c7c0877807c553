import Foundation
import GRDB
import GRDBSQLite
import WaterHubCore

/// Writes events inside one batch transaction: a new event, a new version of a corrected
/// event, or nothing for a repeat. The hot path binds the spool's bytes straight into a
/// prepared INSERT (no strings, no argument arrays): a new event costs one statement.
///
/// The writer numbers the events (`seq`, the towns' cursor): each gets the number after the
/// highest one in the table and in `event_seq_floor`, so a number is never given twice, even
/// when rows that had the highest ones are gone. Whoever deletes events must first raise the
/// floor to the highest number deleted; whoever changes or blanks an event's fields must first
/// store its content hash (`ContentHash`, as a purge does), or its next repeat is a correction.
struct EventWriter {
    let db: Database
    let batchID: Int64
    /// New events and new versions written so far.
    private(set) var stored = 0
    /// The number the next event written gets.
    private var nextSeq: Int64
    private var households: [HouseholdKey: Int64] = [:]
    private var cases: CaseWriter
    private let insertNew: Statement
    private let insertHousehold: Statement
    private var corrections: (findLatest: Statement, supersede: Statement, insertVersion: Statement)?

    /// The event columns bound from the spool, in spool (EventField) order.
    static let fieldColumns = ["source_event_id", "type", "event_date", "customer_number", "connection_id", "name", "street",
                               "house_number", "box", "postal_code", "municipality", "nis_code", "phone", "email",
                               "amount_due_cents", "protected_customer", "note"]

    /// The columns of an event INSERT, and the SQL for a new event and for a new version.
    /// (Which file a batch came from, and when it was recorded, is in `batch_file`, once per batch;
    /// `content_hash` is left NULL: see `ContentHash`.)
    static let insertColumns = ["source", "version", "is_current", "household_id", "batch_id", "line"] + fieldColumns + ["seq"]
    /// Where each column is bound (1-based).
    static func parameter(_ column: String) -> Int32 { Int32(insertColumns.firstIndex(of: column)! + 1) }
    static let sourceParameter = parameter("source"), versionParameter = parameter("version"), currentParameter = parameter("is_current")
    static let householdParameter = parameter("household_id"), batchParameter = parameter("batch_id"), lineParameter = parameter("line")
    static let firstFieldParameter = parameter(fieldColumns[0]), seqParameter = parameter("seq")
    /// The latest version of an event id: its number, version, household and stored hash, then
    /// its fields (`fieldColumns`, from result column `latestFieldsColumn` on).
    private static let latestColumns = ["seq", "version", "household_id", "content_hash"]
    static let findLatestSQL = """
        SELECT \((latestColumns + fieldColumns).joined(separator: ", ")) FROM event
        WHERE source = ? AND source_event_id = ? ORDER BY version DESC LIMIT 1
        """
    static let latestFieldsColumn = Int32(latestColumns.count)
    static let insertVersionSQL =
        "INSERT INTO event (\(insertColumns.joined(separator: ", "))) VALUES (\(insertColumns.map { _ in "?" }.joined(separator: ", ")))"
    static let insertNewSQL = insertVersionSQL + " ON CONFLICT (source, source_event_id, version) DO NOTHING"

    init(db: Database, batchID: Int64, caseCacheCapacity: Int) throws {
        self.db = db
        self.batchID = batchID
        // Only the statements every batch uses are prepared here; the ones for corrections and
        // for households seen before are prepared when first needed (most towns of a first load
        // never need them, and preparing costs as much as hundreds of inserts).
        insertNew = try db.cachedStatement(sql: EventWriter.insertNewSQL)
        insertHousehold = try db.cachedStatement(sql: "INSERT INTO household (source, kind, identifier) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        cases = try CaseWriter(db: db, capacity: caseCacheCapacity)
        nextSeq = try Int64.fetchOne(db, sql: """
            SELECT max(coalesce((SELECT max(seq) FROM event), 0), coalesce((SELECT max(seq) FROM event_seq_floor), 0)) + 1
            """) ?? 1
        try bindBatchConstants(insertNew)
    }

    /// The statements of a correction, prepared at the batch's first one.
    private mutating func correctionStatements() throws -> (findLatest: Statement, supersede: Statement, insertVersion: Statement) {
        if let corrections { return corrections }
        let prepared = (
            findLatest: try db.cachedStatement(sql: EventWriter.findLatestSQL),
            supersede: try db.cachedStatement(sql: "UPDATE event SET is_current = 0 WHERE seq = ?"),
            insertVersion: try db.cachedStatement(sql: EventWriter.insertVersionSQL))
        try bindBatchConstants(prepared.insertVersion)
        corrections = prepared
        return prepared
    }

    /// The batch's constant, bound once per statement; SQLite keeps bindings across resets.
    private func bindBatchConstants(_ statement: Statement) throws {
        try SQLiteBinding.check(sqlite3_bind_int64(statement.sqliteStatement, EventWriter.batchParameter, batchID), db)
    }

    /// Writes the cases still held in memory.
    mutating func finish() throws {
        try cases.flush()
    }

    /// Writes one event unless its current version has the same content.
    mutating func write(_ record: SpoolRecord) throws {
        guard let key = record.householdKey else {
            throw StorageError(.inconsistent, "an event without a household reached storage (batch \(batchID), line \(record.line))")
        }
        let (householdID, isNewHousehold) = try household(key)
        let seq = nextSeq
        if try insert(record, using: insertNew, version: 1, household: householdID, seq: seq) {
            nextSeq += 1
        } else {
            // The company sent this id before: the same content changes nothing; other content
            // is a correction, a new version that may change any step (or the household).
            let statements = try correctionStatements()
            guard let latest = try latestVersion(of: record, using: statements.findLatest) else {
                throw StorageError(.inconsistent, "event \(record.string(.sourceEventID) ?? "") of \(record.source) conflicts but cannot be found")
            }
            if latest.sameContent {
                // A household made for this repeat alone holds nothing: its events are in another
                // (one a purge or an erasure renamed), and its identifier must not be stored again.
                if isNewHousehold { try forget(key, id: householdID) }
                return
            }
            try statements.supersede.execute(arguments: [latest.seq])
            _ = try insert(record, using: statements.insertVersion, version: latest.version + 1, household: householdID, seq: nextSeq)
            nextSeq += 1
            stored += 1
            try cases.recompute(household: householdID)
            if latest.household != householdID { try cases.recompute(household: latest.household) }
            return
        }
        stored += 1
        guard let type = record.type, let date = record.eventDate else {
            throw StorageError(.inconsistent, "a spooled event has no valid type or date (batch \(batchID), line \(record.line))")
        }
        try cases.add(CaseStep(type: type, date: date, amountDueCents: record.amountDueCents, protected: record.protectedCustomer, seq: seq),
                      household: householdID, isNew: isNewHousehold)
    }

    /// The latest version of the record's event id, and whether its content is the record's:
    /// by its stored hash when a purge or an older file left one, else by the hash of its fields
    /// as stored (`ContentHash`). Nil when there is none.
    private func latestVersion(of record: SpoolRecord, using statement: Statement) throws
        -> (seq: Int64, version: Int64, household: Int64, sameContent: Bool)? {
        let handle = statement.sqliteStatement
        try SQLiteBinding.bytes(handle, 1, record.sourceBytes, db)
        try SQLiteBinding.bytes(handle, 2, record.field(.sourceEventID), db)
        var latest: (seq: Int64, version: Int64, household: Int64, sameContent: Bool)?
        try SQLiteBinding.forEachRow(handle, db) {
            let hash = ContentHash.of(record)
            let sameContent: Bool
            if let stored = sqlite3_column_blob(handle, 3) {
                sameContent = hash.matches(UnsafeRawBufferPointer(start: stored, count: Int(sqlite3_column_bytes(handle, 3))))
            } else {
                sameContent = hash == ContentHash.ofStored(handle, from: EventWriter.latestFieldsColumn)
            }
            latest = (sqlite3_column_int64(handle, 0), sqlite3_column_int64(handle, 1), sqlite3_column_int64(handle, 2), sameContent)
        }
        return latest
    }

    /// Binds the record and runs one INSERT; returns whether a row was written.
    private func insert(_ record: SpoolRecord, using statement: Statement, version: Int64, household: Int64, seq: Int64) throws -> Bool {
        let handle = statement.sqliteStatement
        // The record's fields are bound in place: the spool's buffer holds them until the insert
        // has run, and every one is bound again for the next event.
        try SQLiteBinding.bytes(handle, EventWriter.sourceParameter, record.sourceBytes, db, borrowed: true)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, EventWriter.versionParameter, version), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, EventWriter.currentParameter, 1), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, EventWriter.householdParameter, household), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, EventWriter.lineParameter, Int64(record.line)), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, EventWriter.seqParameter, seq), db)
        for (offset, field) in EventField.allCases.enumerated() {
            let index = EventWriter.firstFieldParameter + Int32(offset)
            if field == .amountDue {
                if let cents = record.amountDueCents {
                    try SQLiteBinding.check(sqlite3_bind_int64(handle, index, cents), db)
                } else {
                    try SQLiteBinding.check(sqlite3_bind_null(handle, index), db)
                }
            } else {
                try SQLiteBinding.bytes(handle, index, record.field(field), db, borrowed: true)
            }
        }
        return try SQLiteBinding.run(handle, db)
    }

    /// Removes a household this writer just created, before any event or case refers to it.
    private mutating func forget(_ key: HouseholdKey, id: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM household WHERE id = ?").execute(arguments: [id])
        households[key] = nil
    }

    /// The household's row id, and whether this write created it.
    private mutating func household(_ key: HouseholdKey) throws -> (Int64, isNew: Bool) {
        if let id = households[key] { return (id, false) }
        // Most households in a batch are new: try the insert first, look up only on a conflict.
        // Bound straight into the statement, like the event (one new household per few events).
        let handle = insertHousehold.sqliteStatement
        try SQLiteBinding.text(handle, 1, key.source, db)
        try SQLiteBinding.text(handle, 2, key.kind.rawValue, db)
        try SQLiteBinding.text(handle, 3, key.identifier, db)
        if try SQLiteBinding.run(handle, db) {
            let id = sqlite3_last_insert_rowid(db.sqliteConnection)
            households[key] = id
            cases.created(household: id)
            return (id, true)
        }
        let findHousehold = try db.cachedStatement(sql: "SELECT id FROM household WHERE source = ? AND kind = ? AND identifier = ?")
        guard let existing = try Int64.fetchOne(findHousehold, arguments: [key.source, key.kind.rawValue, key.identifier]) else {
            throw StorageError(.inconsistent, "household of \(key.source) conflicts but cannot be found")
        }
        households[key] = existing
        return (existing, false)
    }
}

