import Foundation
import GRDB
import GRDBSQLite
import WaterHubCore

/// Writes events inside one batch transaction: a new event, a new version of a corrected
/// event, or nothing for a repeat. The hot path binds the spool's bytes straight into a
/// prepared INSERT (no strings, no argument arrays).
///
/// Events are held back and inserted `chunkRows` at a time by one multi-row INSERT: SQLite's
/// work per statement (opening the table and its indexes, the AUTOINCREMENT counter, ending the
/// statement) is then done once for the chunk instead of once per event. A chunk in which any
/// event was sent before is undone (a savepoint) and written one event at a time, exactly as a
/// chunk of one would be: the result (every row, its seq, every case) is the same either way.
struct EventWriter {
    let db: Database
    let batchID: Int64
    /// New events and new versions written so far.
    private(set) var stored = 0
    private var households: [HouseholdKey: Int64] = [:]
    private var cases: CaseWriter
    private let fileSHA256: String
    private let recordedAt: String
    private let insertNew: Statement
    private let insertHousehold: Statement
    private var corrections: (findLatest: Statement, supersede: Statement, insertVersion: Statement)?
    /// Events read but not yet written.
    private var pending = PendingEvents()
    private let chunkRows: Int
    /// The multi-row INSERT, prepared at the batch's first full chunk.
    private var insertChunk: Statement?
    /// Events still to be written one at a time after a chunk held a repeat (a file of
    /// corrections repeats most of its events), and how many chunks in a row did.
    private var oneByOneLeft = 0
    private var chunksWithRepeats = 0

    /// The event columns bound from the spool, in spool (EventField) order.
    static let fieldColumns = ["source_event_id", "type", "event_date", "customer_number", "connection_id", "name", "street",
                               "house_number", "box", "postal_code", "municipality", "nis_code", "phone", "email",
                               "amount_due_cents", "protected_customer", "note"]

    /// The columns of an event INSERT, and the SQL for a new event and for a new version.
    static let insertColumns = ["source", "version", "is_current", "content_hash", "household_id", "batch_id", "file_sha256", "line",
                                "recorded_at"] + fieldColumns
    static let insertVersionSQL = insertSQL(rows: 1)
    static let insertNewSQL = insertSQL(rows: 1) + conflictClause
    private static let conflictClause = " ON CONFLICT (source, source_event_id, version) DO NOTHING"

    /// Events per multi-row INSERT (its parameters: 26 each, far below SQLite's limit).
    static let defaultChunkRows = 32

    static func insertSQL(rows: Int) -> String {
        let row = "(\(insertColumns.map { _ in "?" }.joined(separator: ", ")))"
        return "INSERT INTO event (\(insertColumns.joined(separator: ", "))) VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))"
    }

    init(db: Database, batchID: Int64, fileSHA256: String, recordedAt: String, caseCacheCapacity: Int,
         chunkRows: Int = EventWriter.defaultChunkRows) throws {
        self.db = db
        self.batchID = batchID
        self.fileSHA256 = fileSHA256
        self.recordedAt = recordedAt
        self.chunkRows = max(1, chunkRows)
        // Only the statements every batch uses are prepared here; the ones for chunks, for
        // corrections and for households seen before are prepared when first needed (most towns
        // of a first load never need some of them, and preparing costs as much as hundreds of
        // inserts).
        insertNew = try db.cachedStatement(sql: EventWriter.insertNewSQL)
        insertHousehold = try db.cachedStatement(sql: "INSERT INTO household (source, kind, identifier) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        cases = try CaseWriter(db: db, capacity: caseCacheCapacity)
        try bindBatchConstants(insertNew, rows: 1)
    }

    /// The statements of a correction, prepared at the batch's first one.
    private mutating func correctionStatements() throws -> (findLatest: Statement, supersede: Statement, insertVersion: Statement) {
        if let corrections { return corrections }
        let prepared = (
            findLatest: try db.cachedStatement(
                sql: "SELECT seq, version, content_hash, household_id FROM event WHERE source = ? AND source_event_id = ? ORDER BY version DESC LIMIT 1"),
            supersede: try db.cachedStatement(sql: "UPDATE event SET is_current = 0 WHERE seq = ?"),
            insertVersion: try db.cachedStatement(sql: EventWriter.insertVersionSQL))
        try bindBatchConstants(prepared.insertVersion, rows: 1)
        corrections = prepared
        return prepared
    }

    /// The multi-row INSERT, prepared at the batch's first full chunk.
    private mutating func chunkStatement() throws -> Statement {
        if let insertChunk { return insertChunk }
        let prepared = try db.cachedStatement(sql: EventWriter.insertSQL(rows: chunkRows) + EventWriter.conflictClause)
        try bindBatchConstants(prepared, rows: chunkRows)
        insertChunk = prepared
        return prepared
    }

    /// The batch's constants, bound once per statement; SQLite keeps bindings across resets.
    private func bindBatchConstants(_ statement: Statement, rows: Int) throws {
        let handle = statement.sqliteStatement
        for row in 0..<rows {
            let base = Int32(row * EventWriter.insertColumns.count)
            try SQLiteBinding.check(sqlite3_bind_int64(handle, base + 6, batchID), db)
            try SQLiteBinding.text(handle, base + 7, fileSHA256, db)
            try SQLiteBinding.text(handle, base + 9, recordedAt, db)
        }
    }

    /// Writes the events and cases still held in memory.
    mutating func finish() throws {
        try writePending()
        try cases.flush()
    }

    /// Takes one event: it is written with the next chunk, unless its current version has the
    /// same content.
    mutating func write(_ record: SpoolRecord) throws {
        guard let key = record.householdKey else {
            throw StorageError(.inconsistent, "an event without a household reached storage (batch \(batchID), line \(record.line))")
        }
        let (householdID, isNewHousehold) = try household(key)
        pending.append(record, household: householdID, isNewHousehold: isNewHousehold, hash: ContentHash.of(record))
        if pending.count >= chunkRows { try writePending() }
    }

    /// Writes the held events: as one chunk when they fill one and none of them was sent before,
    /// else one at a time.
    private mutating func writePending() throws {
        // Out of `self` while written: the writes below change the writer's other state.
        var chunk = PendingEvents()
        swap(&chunk, &pending)
        defer {
            chunk.removeAll()
            swap(&chunk, &pending)
        }
        try chunk.withRecords { record in
            let events = chunk.events
            if events.count == chunkRows && chunkRows > 1 && oneByOneLeft == 0 {
                if let firstSeq = try insertAsOneChunk(events, record) {
                    chunksWithRepeats = 0
                    for (index, event) in events.enumerated() { try added(record(index), event, seq: firstSeq + Int64(index)) }
                    return
                }
                chunksWithRepeats += 1
                oneByOneLeft = chunkRows << min(chunksWithRepeats, 6)
            }
            for (index, event) in events.enumerated() { try writeOne(record(index), event) }
            oneByOneLeft = max(0, oneByOneLeft - events.count)
        }
    }

    /// Inserts a full chunk of events with one statement; the seq of its first event, or nil
    /// when any of them was sent before (then nothing of the chunk is written).
    private mutating func insertAsOneChunk(_ events: [PendingEvents.Event], _ record: (Int) -> SpoolRecord) throws -> Int64? {
        let handle = try chunkStatement().sqliteStatement
        for (index, event) in events.enumerated() {
            try bind(record(index), to: handle, row: index, version: 1, hash: event.hash, household: event.household)
        }
        var allNew = false
        try db.inSavepoint {
            try SQLiteBinding.run(handle, db)
            allNew = Int(sqlite3_changes(db.sqliteConnection)) == events.count
            return allNew ? .commit : .rollback
        }
        // One statement numbers its rows one after another: the last one's seq ends the run.
        return allNew ? sqlite3_last_insert_rowid(db.sqliteConnection) - Int64(events.count - 1) : nil
    }

    /// Writes one event unless its current version has the same content.
    private mutating func writeOne(_ record: SpoolRecord, _ event: PendingEvents.Event) throws {
        let handle = insertNew.sqliteStatement
        try bind(record, to: handle, row: 0, version: 1, hash: event.hash, household: event.household)
        if try SQLiteBinding.run(handle, db) {
            try added(record, event, seq: sqlite3_last_insert_rowid(db.sqliteConnection))
            return
        }
        // The company sent this id before: the same content changes nothing; other content
        // is a correction, a new version that may change any step (or the household).
        let source = record.source, id = record.string(.sourceEventID) ?? ""
        let statements = try correctionStatements()
        guard let latest = try Row.fetchOne(statements.findLatest, arguments: [source, id]) else {
            throw StorageError(.inconsistent, "event \(id) of \(source) conflicts but cannot be found")
        }
        if event.hash.matches(latest[2] as Data) { return }
        try statements.supersede.execute(arguments: [latest[0] as Int64])
        let versionHandle = statements.insertVersion.sqliteStatement
        try bind(record, to: versionHandle, row: 0, version: (latest[1] as Int) + 1, hash: event.hash, household: event.household)
        try SQLiteBinding.run(versionHandle, db)
        stored += 1
        try cases.recompute(household: event.household)
        let previous: Int64 = latest[3]
        if previous != event.household { try cases.recompute(household: previous) }
    }

    /// A new event was written with this seq: folded into its household's case.
    private mutating func added(_ record: SpoolRecord, _ event: PendingEvents.Event, seq: Int64) throws {
        stored += 1
        guard let type = record.type, let date = record.eventDate else {
            throw StorageError(.inconsistent, "a spooled event has no valid type or date (batch \(batchID), line \(record.line))")
        }
        try cases.add(CaseStep(type: type, date: date, amountDueCents: record.amountDueCents, protected: record.protectedCustomer, seq: seq),
                      household: event.household, isNew: event.isNewHousehold)
    }

    /// Binds one event to a row of an INSERT (the first row's parameters are 1...26, the next
    /// row's 27...52, and so on).
    private func bind(_ record: SpoolRecord, to handle: SQLiteStatement, row: Int, version: Int, hash: ContentHash.Digest,
                      household: Int64) throws {
        let base = Int32(row * EventWriter.insertColumns.count)
        // The record's fields are bound in place: the held events' buffer keeps them until the
        // insert has run, and every one is bound again for the next event.
        try SQLiteBinding.bytes(handle, base + 1, record.slice(EventField.allCases.count + 1), db, borrowed: true)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, base + 2, Int64(version)), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, base + 3, 1), db)
        try hash.withUnsafeBytes { raw in
            try SQLiteBinding.check(sqlite3_bind_blob(handle, base + 4, raw.baseAddress, Int32(raw.count), SQLiteBinding.transient), db)
        }
        try SQLiteBinding.check(sqlite3_bind_int64(handle, base + 5, household), db)
        try SQLiteBinding.check(sqlite3_bind_int64(handle, base + 8, Int64(record.line)), db)
        for (offset, field) in EventField.allCases.enumerated() {
            let index = base + Int32(10 + offset)
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


/// Events read from a spool and held until they are written, with what the writer found out
/// when it took them. Their bytes are copied into one buffer (the spool reader's moves on).
struct PendingEvents {
    struct Event {
        var household: Int64
        var isNewHousehold: Bool
        var hash: ContentHash.Digest
    }

    private(set) var events: [Event] = []
    private var bytes: [UInt8] = []
    /// `SpoolRecord.fieldCount` ranges per event, into `bytes`.
    private var ranges: [Range<Int>?] = []

    var count: Int { events.count }

    mutating func append(_ record: SpoolRecord, household: Int64, isNewHousehold: Bool, hash: ContentHash.Digest) {
        let base = bytes.count
        bytes.append(contentsOf: record.bytes)
        for range in record.ranges { ranges.append(range.map { base + $0.lowerBound ..< base + $0.upperBound }) }
        events.append(Event(household: household, isNewHousehold: isNewHousehold, hash: hash))
    }

    /// Calls `body` with a function giving each held event's record (valid only inside `body`).
    func withRecords<T>(_ body: ((Int) -> SpoolRecord) throws -> T) rethrows -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            try body { index in
                SpoolRecord(bytes: buffer, ranges: ranges[index * SpoolRecord.fieldCount ..< (index + 1) * SpoolRecord.fieldCount])
            }
        }
    }

    mutating func removeAll() {
        events.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
    }
}
