import Foundation
import GRDB
import WaterHubCore

/// One town's own SQLite file: its events (every version), its households, and the batches
/// applied to it. Nothing of another town is ever in it.
public final class TenantDatabase: Sendable {
    public let tenant: Tenant
    public let path: String
    let pool: DatabasePool
    /// How many cases a batch keeps in memory before writing them back.
    let caseCacheCapacity: Int

    /// Opens (creating when missing) and migrates the town file; refuses a file from a newer WaterHub.
    public init(tenant: Tenant, path: String, caseCacheCapacity: Int = 20_000) throws {
        self.tenant = tenant
        self.path = path
        self.caseCacheCapacity = caseCacheCapacity
        StorageConfiguration.createPrivately(path)
        pool = try DatabasePool(path: path, configuration: StorageConfiguration.databaseConfiguration(label: "tenant-\(tenant.nisCode)"))
        try StorageConfiguration.migrate(pool, with: TenantDatabase.migrator, file: path)
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: events, households, applied batches") { db in
            try db.execute(sql: """
                CREATE TABLE household (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('customer', 'connection')),
                    identifier TEXT NOT NULL,
                    UNIQUE (source, kind, identifier)
                ) STRICT;
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    source_event_id TEXT NOT NULL,
                    version INTEGER NOT NULL CHECK (version >= 1),
                    is_current INTEGER NOT NULL CHECK (is_current IN (0, 1)),
                    content_hash BLOB NOT NULL,
                    household_id INTEGER NOT NULL REFERENCES household(id),
                    type TEXT NOT NULL CHECK (type IN (\(EventType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
                    event_date TEXT NOT NULL CHECK (event_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
                    customer_number TEXT,
                    connection_id TEXT,
                    name TEXT,
                    street TEXT,
                    house_number TEXT,
                    box TEXT,
                    postal_code TEXT,
                    municipality TEXT,
                    nis_code TEXT,
                    phone TEXT,
                    email TEXT,
                    amount_due_cents INTEGER CHECK (amount_due_cents >= 0),
                    protected_customer TEXT NOT NULL CHECK (protected_customer IN ('yes', 'no', 'unknown')),
                    note TEXT,
                    batch_id INTEGER NOT NULL,
                    file_sha256 TEXT NOT NULL,
                    line INTEGER NOT NULL,
                    recorded_at TEXT NOT NULL,
                    UNIQUE (source, source_event_id, version)
                ) STRICT;
                CREATE INDEX event_by_household ON event(household_id, seq);
                CREATE TABLE applied_batch (
                    batch_id INTEGER PRIMARY KEY,
                    events_in INTEGER NOT NULL CHECK (events_in >= 0),
                    events_stored INTEGER NOT NULL CHECK (events_stored >= 0),
                    events_unchanged INTEGER NOT NULL CHECK (events_unchanged >= 0),
                    applied_at TEXT NOT NULL,
                    CHECK (events_in = events_stored + events_unchanged)
                ) STRICT;
                """)
        }
        migrator.registerMigration("v2: household cases") { db in
            let stepColumns = EventType.allCases.map { "\(CaseColumns.stepColumn($0)) TEXT" }.joined(separator: ",\n")
            try db.execute(sql: """
                CREATE TABLE household_case (
                    household_id INTEGER PRIMARY KEY REFERENCES household(id),
                    state TEXT NOT NULL CHECK (state IN (\(CaseState.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
                    opened_on TEXT NOT NULL,
                    last_event_on TEXT NOT NULL,
                    amount_due_cents INTEGER,
                    protected_customer TEXT NOT NULL CHECK (protected_customer IN ('yes', 'no', 'unknown')),
                    event_count INTEGER NOT NULL CHECK (event_count >= 1),
                    state_date TEXT NOT NULL,
                    state_seq INTEGER NOT NULL,
                    amount_date TEXT,
                    amount_seq INTEGER,
                    protected_date TEXT,
                    protected_seq INTEGER,
                    \(stepColumns)
                ) STRICT;
                CREATE INDEX case_by_state ON household_case(state, last_event_on);
                """)
        }
        migrator.registerMigration("v3: purge marks") { db in
            try db.execute(sql: "ALTER TABLE household ADD COLUMN purged_at TEXT")
        }
        migrator.registerMigration("v4: contacts") { db in
            // What the town records back. Codes are CHECKed against the canonical lists so that
            // the cell's statistics (reach rate per method) can count them; the role is a code,
            // never a name; the idempotency key makes a retried POST record nothing new.
            try db.execute(sql: """
                CREATE TABLE contact (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    household_id INTEGER NOT NULL REFERENCES household(id),
                    contact_date TEXT NOT NULL CHECK (contact_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
                    method TEXT NOT NULL CHECK (method IN (\(ContactMethod.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
                    outcome TEXT NOT NULL CHECK (outcome IN (\(ContactOutcome.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")))),
                    role TEXT NOT NULL CHECK (length(role) BETWEEN 2 AND 40 AND role NOT GLOB '*[^a-z0-9_]*'),
                    next_step TEXT CHECK (length(next_step) <= 500),
                    idempotency_key TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                    request_hash BLOB NOT NULL,
                    token_id TEXT NOT NULL,
                    recorded_at TEXT NOT NULL
                ) STRICT;
                CREATE INDEX contact_by_household ON contact(household_id, contact_date);
                """)
        }
        return migrator
    }()

    /// What applying one batch did to this town.
    public struct ApplyResult: Sendable, Hashable {
        /// True when the batch had been applied before: nothing was written this time.
        public var alreadyApplied: Bool
        /// Events in the batch for this town.
        public var eventsIn: Int
        /// New events and new versions (corrections) written.
        public var stored: Int
        /// Events identical to their current version, which changed nothing.
        public var unchanged: Int
    }

    /// Applies a batch's events in one transaction, together with the record that the batch was
    /// applied: a batch is applied to a town entirely, exactly once, or not at all.
    ///
    /// When `expectedCount` is given and the events do not number exactly that many (a damaged
    /// spool), nothing is written.
    public func apply(batchID: Int64, fileSHA256: String, events: some Sequence<SpooledEvent>, expectedCount: Int? = nil,
                      recordedAt: Date = Date()) throws -> ApplyResult {
        try pool.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM applied_batch WHERE batch_id = ?", arguments: [batchID]) != nil {
                let row = try Row.fetchOne(db, sql: "SELECT events_in, events_stored, events_unchanged FROM applied_batch WHERE batch_id = ?", arguments: [batchID])!
                return ApplyResult(alreadyApplied: true, eventsIn: row[0], stored: row[1], unchanged: row[2])
            }
            let stamp = StorageConfiguration.timestamp(recordedAt)
            var writer = try EventWriter(db: db, batchID: batchID, fileSHA256: fileSHA256, recordedAt: stamp, caseCacheCapacity: caseCacheCapacity)
            var result = ApplyResult(alreadyApplied: false, eventsIn: 0, stored: 0, unchanged: 0)
            for spooled in events {
                result.eventsIn += 1
                if try writer.write(spooled) { result.stored += 1 } else { result.unchanged += 1 }
            }
            try writer.finish()
            if let expectedCount, expectedCount != result.eventsIn {
                throw StorageError(.inconsistent, "batch \(batchID) for \(tenant.nisCode) should hold \(expectedCount) events but its spool gave \(result.eventsIn); nothing was written")
            }
            try db.execute(sql: "INSERT INTO applied_batch (batch_id, events_in, events_stored, events_unchanged, applied_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [batchID, result.eventsIn, result.stored, result.unchanged, stamp])
            return result
        }
    }

    /// Whether a batch has been applied to this town.
    public func hasApplied(batchID: Int64) throws -> Bool {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT 1 FROM applied_batch WHERE batch_id = ?", arguments: [batchID]) != nil }
    }

    /// Counts for reconciliation with the ledger: per applied batch, events in and rows stored.
    public func appliedBatches() throws -> [Int64: (eventsIn: Int, stored: Int, rows: Int)] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT a.batch_id, a.events_in, a.events_stored, (SELECT COUNT(*) FROM event e WHERE e.batch_id = a.batch_id)
                FROM applied_batch a
                """)
            var result: [Int64: (Int, Int, Int)] = [:]
            for row in rows { result[row[0]] = (row[1], row[2], row[3]) }
            return result
        }
    }

    /// The number of stored event rows (all versions).
    public func eventCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }

    /// Runs `PRAGMA integrity_check`; returns the problems it reports (empty when the file is sound).
    public func integrityProblems() throws -> [String] {
        try pool.read { db in
            let lines = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            return lines == ["ok"] ? [] : lines
        }
    }
}

/// Writes events inside one batch transaction with cached statements: a new event, a new
/// version of a corrected event, or nothing for a repeat.
struct EventWriter {
    let db: Database
    let batchID: Int64
    let fileSHA256: String
    let recordedAt: String
    private var households: [HouseholdKey: Int64] = [:]
    private var cases: CaseWriter
    private let findLatest: Statement
    private let supersede: Statement
    private let insert: Statement
    private let findHousehold: Statement
    private let insertHousehold: Statement

    init(db: Database, batchID: Int64, fileSHA256: String, recordedAt: String, caseCacheCapacity: Int) throws {
        self.db = db
        self.batchID = batchID
        self.fileSHA256 = fileSHA256
        self.recordedAt = recordedAt
        findLatest = try db.cachedStatement(sql: "SELECT seq, version, content_hash, household_id FROM event WHERE source = ? AND source_event_id = ? ORDER BY version DESC LIMIT 1")
        supersede = try db.cachedStatement(sql: "UPDATE event SET is_current = 0 WHERE seq = ?")
        insert = try db.cachedStatement(sql: """
            INSERT INTO event (source, source_event_id, version, is_current, content_hash, household_id, type, event_date,
                customer_number, connection_id, name, street, house_number, box, postal_code, municipality, nis_code,
                phone, email, amount_due_cents, protected_customer, note, batch_id, file_sha256, line, recorded_at)
            VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        findHousehold = try db.cachedStatement(sql: "SELECT id FROM household WHERE source = ? AND kind = ? AND identifier = ?")
        insertHousehold = try db.cachedStatement(sql: "INSERT INTO household (key, source, kind, identifier) VALUES (?, ?, ?, ?)")
        cases = try CaseWriter(db: db, capacity: caseCacheCapacity)
    }

    /// Writes the cases still held in memory.
    mutating func finish() throws {
        try cases.flush()
    }

    /// Writes the event unless its current version has the same content; returns whether it wrote.
    mutating func write(_ spooled: SpooledEvent) throws -> Bool {
        let event = spooled.event
        let hash = ContentHash.of(event)
        var version = 1
        var previousHousehold: Int64?
        if let latest = try Row.fetchOne(findLatest, arguments: [event.source, event.sourceEventID]) {
            let latestHash: Data = latest[2]
            if latestHash == hash { return false }
            version = (latest[1] as Int) + 1
            previousHousehold = latest[3]
            try supersede.execute(arguments: [latest[0] as Int64])
        }
        guard let key = event.householdKey else {
            throw StorageError(.inconsistent, "an event without a household reached storage (batch \(batchID), line \(spooled.line))")
        }
        let householdID = try household(key)
        try insert.execute(arguments: [
            event.source, event.sourceEventID, version, hash, householdID, event.type.rawValue, event.eventDate.iso,
            event.customerNumber, event.connectionID, event.name, event.street, event.houseNumber, event.box,
            event.postalCode, event.municipality, event.nisCode, event.phone, event.email, event.amountDueCents,
            event.protectedCustomer.rawValue, event.note, batchID, fileSHA256, spooled.line, recordedAt,
        ])
        if let previousHousehold {
            // A correction can change any step, even move the event to another household:
            // rebuild the case(s) it touches from their current events.
            try cases.recompute(household: householdID)
            if previousHousehold != householdID { try cases.recompute(household: previousHousehold) }
        } else {
            try cases.add(event, seq: db.lastInsertedRowID, household: householdID)
        }
        return true
    }

    private mutating func household(_ key: HouseholdKey) throws -> Int64 {
        if let id = households[key] { return id }
        let id: Int64
        if let existing = try Int64.fetchOne(findHousehold, arguments: [key.source, key.kind.rawValue, key.identifier]) {
            id = existing
        } else {
            try insertHousehold.execute(arguments: [OpaqueKey.random(), key.source, key.kind.rawValue, key.identifier])
            id = db.lastInsertedRowID
        }
        households[key] = id
        return id
    }
}
