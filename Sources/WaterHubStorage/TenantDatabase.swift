import Crypto
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import WaterHubCore

/// One town's own SQLite file: its events (every version), its households, and the batches
/// applied to it. Nothing of another town is ever in it.
public final class TenantDatabase: Sendable {
    public let tenant: Tenant
    public let path: String
    let pool: DatabasePool
    /// How many cases a batch keeps in memory before writing them back.
    let caseCacheCapacity: Int
    /// Household ids to opaque keys and back.
    let keys: HouseholdKeyCodec
    private let watch: DataVersionWatch

    /// Opens (creating when missing) and migrates the town file; refuses a file from a newer WaterHub.
    public init(tenant: Tenant, path: String, caseCacheCapacity: Int = 10_000) throws {
        self.tenant = tenant
        self.path = path
        self.caseCacheCapacity = caseCacheCapacity
        self.watch = DataVersionWatch(path: path)
        if !FileManager.default.fileExists(atPath: path) { try TenantDatabase.copyTemplate(to: path) }
        // A hub may hold hundreds of town files open: each connection keeps a small page cache.
        pool = try DatabasePool(path: path, configuration: StorageConfiguration.databaseConfiguration(label: "tenant-\(tenant.nisCode)",
                                                                                                 cacheKiB: TenantDatabase.everydayCacheKiB))
        try StorageConfiguration.migrate(pool, with: TenantDatabase.migrator, file: path)
        guard let secret = try pool.read({ db in try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'household_key_secret'") }) else {
            throw StorageError(.damagedFile, "\(path) has no household key secret")
        }
        // The file's secret is random per hub (copies of one template share it); mixed with the
        // town's NIS code it gives every town of every hub its own keys, with nothing to write.
        keys = HouseholdKeyCodec(secret: Data(HMAC<SHA256>.authenticationCode(for: Array(tenant.nisCode.utf8), using: SymmetricKey(data: secret))))
    }

    deinit {
        // Before the pool: its last connection checkpoints and removes the log when it closes,
        // which the watching connection's shared lock would prevent.
        watch.close()
    }

    /// Page cache of a town connection in everyday use, and while it applies a batch.
    static let everydayCacheKiB = 512
    static let applyCacheKiB = 4_096

    /// A new town file starts as a copy of a template that has every migration applied: copying
    /// a small file is much cheaper than running each migration as its own transaction with its
    /// own fsync, hundreds of times when a hub with hundreds of towns takes its first batch.
    /// (Another process may have created the town file first.)
    static func copyTemplate(to path: String) throws {
        let copy = "\(path).\(UUID().uuidString)"
        try copyTemplate(toNewFile: copy)
        // On disk before it has the town's name. If another process created the town file
        // first, its file (and whatever it already wrote) stays, and this one opens it.
        _ = try FilePublisher.placeNow(copy, as: path)
    }

    /// Copies the template to a path nobody else uses, readable by the hub's user only.
    static func copyTemplate(toNewFile path: String) throws {
        try FileManager.default.copyItem(atPath: try template(in: (path as NSString).deletingLastPathComponent), toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// The folder's template, built when missing. It keeps SQLite's rollback journal: a file
    /// built apart (see `applyToNewFile`) then needs no log files while it is built, and a town
    /// file opened the usual way switches to the write-ahead log when it is first opened.
    ///
    /// One thread of the process builds it while the others wait (a first load starts several
    /// town files at once), without a sync per migration: once, before it takes its name.
    private static func template(in folder: String) throws -> String {
        let name = ".town-template-v\(migrator.migrations.count)-rollback"
        let template = "\(folder)/\(name)"
        return try templateBuilding.withLock { _ in
            if FileManager.default.fileExists(atPath: template) { return template }
            let building = "\(template).\(UUID().uuidString)"
            StorageConfiguration.createPrivately(building)
            do {
                var configuration = Configuration()
                configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
                let queue = try DatabaseQueue(path: building, configuration: configuration)
                try migrator.migrate(queue)
                try queue.close()
                try FilePublisher.sync(building)
            } catch {
                unlink(building)
                throw error
            }
            // Two processes may build it at once: the rename makes one of them win, whole.
            if rename(building, template) != 0 { try? FileManager.default.removeItem(atPath: building) }
            // Templates of earlier versions are not used again (this one, and another process's
            // copy of it being built, share its name as a prefix).
            for other in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            where other.hasPrefix(".town-template-v") && !other.hasPrefix(name) {
                unlink("\(folder)/\(other)")
            }
            return template
        }
    }

    private static let templateBuilding = Mutex(())

    /// The household id of a key, when the key belongs to a household of this town.
    func householdID(_ key: String, in db: Database) throws -> Int64? {
        guard let id = keys.decode(key) else { return nil }
        return try Int64.fetchOne(db, sql: "SELECT id FROM household WHERE id = ?", arguments: [id])
    }

    /// The event types, case states and contact codes the town files' CHECKs accept, as the migrations wrote
    /// them: fixed, so that a migration always finds in an older file the text it wrote. A new
    /// code needs a new migration that rewrites the CHECK (a test compares these with the enums).
    static let checkedEventTypes = ["lac_request", "warning_letter", "payment_plan_failed", "flow_limitation_announced", "flow_limitation",
                                    "flow_limitation_removed", "intent_to_disconnect", "disconnection", "reconnection"]
    static let checkedCaseStates = ["invited", "warned", "payment_plan_failed", "limitation_announced", "limited", "limiter_removed",
                                    "disconnection_intended", "disconnected", "reconnected"]
    static let checkedContactMethods = ["home_visit_announced", "home_visit_unannounced", "card", "letter", "phone", "text", "email",
                                        "appointment"]
    static let checkedContactOutcomes = ["reached", "not_reached", "refused"]

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
                    type TEXT NOT NULL CHECK (\(CodeCheck.inList("type", checkedEventTypes))),
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
                    state TEXT NOT NULL CHECK (\(CodeCheck.inList("state", checkedCaseStates))),
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
                    method TEXT NOT NULL CHECK (\(CodeCheck.inList("method", checkedContactMethods))),
                    outcome TEXT NOT NULL CHECK (\(CodeCheck.inList("outcome", checkedContactOutcomes))),
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
        migrator.registerMigration("v5: computed household keys") { db in
            // The key becomes a keyed permutation of the row id (HouseholdKeyCodec) instead of a
            // stored random text: no unique index to maintain per new household, no random
            // numbers, and reads need no join to show it. The secret stays in this file, so a
            // backup restores the same keys. Cases are listed by household, not by state.
            var secret = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in secret.indices { secret[index] = UInt8.random(in: 0...255, using: &generator) }
            try db.execute(sql: """
                CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
                CREATE TABLE household_v5 (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('customer', 'connection')),
                    identifier TEXT NOT NULL,
                    purged_at TEXT,
                    UNIQUE (source, kind, identifier)
                ) STRICT;
                INSERT INTO household_v5 (id, source, kind, identifier, purged_at) SELECT id, source, kind, identifier, purged_at FROM household;
                DROP TABLE household;
                ALTER TABLE household_v5 RENAME TO household;
                DROP INDEX IF EXISTS case_by_state;
                """)
            try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('household_key_secret', ?)", arguments: [Data(secret)])
        }
        migrator.registerMigration("v6: code checks without a lookup table per row") { db in
            // Same rules, cheaper form: see CodeCheck. Rows, ids and seq counter stay.
            let protected = ["yes", "no", "unknown"]
            try CodeCheck.rebuild("event", rewriting: CodeCheck.inListsAsOneOf([("type", checkedEventTypes), ("protected_customer", protected)]), in: db)
            try CodeCheck.rebuild("household_case", rewriting: CodeCheck.inListsAsOneOf([("state", checkedCaseStates), ("protected_customer", protected)]),
                                  in: db)
        }
        migrator.registerMigration("v7: a batch's file and time once per batch, not on every event") { db in
            // Every event of a batch came from the same file and was recorded by the same apply:
            // 89 bytes of each event row (a third of it) repeated what one row per batch says.
            try db.execute(sql: """
                CREATE TABLE batch_file (
                    batch_id INTEGER PRIMARY KEY,
                    file_sha256 TEXT NOT NULL,
                    recorded_at TEXT NOT NULL
                ) STRICT;
                INSERT INTO batch_file (batch_id, file_sha256, recorded_at)
                    SELECT batch_id, min(file_sha256), min(recorded_at) FROM event GROUP BY batch_id;
                ALTER TABLE event DROP COLUMN file_sha256;
                ALTER TABLE event DROP COLUMN recorded_at;
                """)
        }
        migrator.registerMigration("v8: event numbers given by the writer, not by AUTOINCREMENT") { db in
            // AUTOINCREMENT reads and rewrites `sqlite_sequence` in every INSERT statement: for
            // the ingest's one statement per event, ~6 % of the apply's instructions. The writer
            // now gives each event the next number itself (EventWriter), above the highest one
            // in the table and above `event_seq_floor`, which keeps what AUTOINCREMENT kept: the
            // highest number ever given, should the rows that had it be gone (a town's cursor
            // never sees a number twice).
            // (Dropping the old table removed its row from `sqlite_sequence`.)
            let counter = try CodeCheck.rebuild("event", rewriting: [("seq INTEGER PRIMARY KEY AUTOINCREMENT", "seq INTEGER PRIMARY KEY")], in: db)
            try db.execute(sql: "CREATE TABLE event_seq_floor (seq INTEGER NOT NULL CHECK (seq >= 0)) STRICT")
            try db.execute(sql: "INSERT INTO event_seq_floor (seq) VALUES (?)", arguments: [counter ?? 0])
        }
        migrator.registerMigration("v9: an event's content hash kept only where its fields no longer tell it") { db in
            // Only an event id sent again needs to know whether its content changed, and the
            // latest version's own fields tell it (ContentHash.ofStored), unless a purge blanked
            // them: a purge keeps the hash then. A new event no longer pays for a SHA-256 and 16
            // stored bytes (~8 % of a first load's CPU time: Ops/bench/README.md). Rows stored
            // before keep theirs.
            try CodeCheck.rebuild("event", rewriting: [("content_hash BLOB NOT NULL", "content_hash BLOB")], in: db)
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
        try apply(batchID: batchID, fileSHA256: fileSHA256, expectedCount: expectedCount, recordedAt: recordedAt) { writer in
            var ranges: [Range<Int>?] = []
            var count = 0
            for spooled in events {
                try spooled.withRecord(ranges: &ranges) { try writer.write($0) }
                count += 1
            }
            return count
        }
    }

    /// One routed batch's spool for this town (its pieces in the batch's spool files, or a file
    /// of its own), and how many events it must give.
    public struct SpooledBatch: Sendable {
        public var batchID: Int64
        public var fileSHA256: String
        public var spool: [SpoolSegment]
        public var expectedCount: Int

        public init(batchID: Int64, fileSHA256: String, spool: [SpoolSegment], expectedCount: Int) {
            self.batchID = batchID
            self.fileSHA256 = fileSHA256
            self.spool = spool
            self.expectedCount = expectedCount
        }

        /// A spool that is a file of its own.
        public init(batchID: Int64, fileSHA256: String, spool path: String, expectedCount: Int) {
            self.init(batchID: batchID, fileSHA256: fileSHA256, spool: [.wholeFile(path)], expectedCount: expectedCount)
        }
    }

    /// Applies batches straight from their spool files (the ingest's path), in order, one
    /// transaction each, reading each event in place, on the database's own writer queue (so an
    /// ingest never blocks the threads that serve the API). The pages the first batch read stay
    /// in the cache for the next: a file of corrections after a file of history finds them there.
    /// When a batch fails, the ones before it stay applied.
    public func apply(_ batches: [SpooledBatch], recordedAt: Date = Date()) async throws -> [ApplyResult] {
        try await pool.writeWithoutTransaction { db in
            try TenantDatabase.withApplyCache(db) {
                try batches.map { batch in
                    var result: ApplyResult?
                    try db.inTransaction {
                        result = try TenantDatabase.apply(batch, in: db, nisCode: self.tenant.nisCode, caseCacheCapacity: self.caseCacheCapacity,
                                                          recordedAt: recordedAt)
                        return .commit
                    }
                    return result!
                }
            }
        }
    }

    /// Applies one batch from its spool file, inside the caller's transaction.
    static func apply(_ batch: SpooledBatch, in db: Database, nisCode: String, caseCacheCapacity: Int, recordedAt: Date) throws -> ApplyResult {
        var reader = try SpoolReader(segments: batch.spool)
        return try apply(in: db, nisCode: nisCode, caseCacheCapacity: caseCacheCapacity, batchID: batch.batchID,
                         fileSHA256: batch.fileSHA256, expectedCount: batch.expectedCount, recordedAt: recordedAt) { writer in
            var ranges: [Range<Int>?] = []
            var count = 0
            while try reader.withNextEvent(ranges: &ranges, { try writer.write($0) }) != nil { count += 1 }
            if reader.damaged { throw StorageError(.damagedFile, "the spool of batch \(batch.batchID) for \(nisCode) is cut short") }
            return count
        }
    }

    private func apply(batchID: Int64, fileSHA256: String, expectedCount: Int?, recordedAt: Date,
                       writeAll: (inout EventWriter) throws -> Int) throws -> ApplyResult {
        try pool.write { db in
            try TenantDatabase.withApplyCache(db) {
                try TenantDatabase.apply(in: db, nisCode: tenant.nisCode, caseCacheCapacity: caseCacheCapacity, batchID: batchID,
                                         fileSHA256: fileSHA256, expectedCount: expectedCount, recordedAt: recordedAt, writeAll: writeAll)
            }
        }
    }

    /// A large town's tables and indexes outgrow the small everyday page cache; while it applies
    /// batches a larger one keeps them in memory (SQLite takes pages as it needs them, and gives
    /// them back when the cache shrinks again).
    static func withApplyCache<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA cache_size = -\(TenantDatabase.applyCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(TenantDatabase.everydayCacheKiB)") }
        return try body()
    }

    /// The body of every apply: inside the caller's write transaction.
    private static func apply(in db: Database, nisCode: String, caseCacheCapacity: Int, batchID: Int64, fileSHA256: String,
                              expectedCount: Int?, recordedAt: Date, writeAll: (inout EventWriter) throws -> Int) throws -> ApplyResult {
        if let row = try Row.fetchOne(db, sql: "SELECT events_in, events_stored, events_unchanged FROM applied_batch WHERE batch_id = ?",
                                      arguments: [batchID]) {
            return ApplyResult(alreadyApplied: true, eventsIn: row[0], stored: row[1], unchanged: row[2])
        }
        let stamp = StorageConfiguration.timestamp(recordedAt)
        var writer = try EventWriter(db: db, batchID: batchID, caseCacheCapacity: caseCacheCapacity)
        let count = try writeAll(&writer)
        try writer.finish()
        if let expectedCount, expectedCount != count {
            throw StorageError(.inconsistent, "batch \(batchID) for \(nisCode) should hold \(expectedCount) events but its spool gave \(count); nothing was written")
        }
        let result = ApplyResult(alreadyApplied: false, eventsIn: count, stored: writer.stored, unchanged: count - writer.stored)
        try db.execute(sql: "INSERT INTO applied_batch (batch_id, events_in, events_stored, events_unchanged, applied_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [batchID, result.eventsIn, result.stored, result.unchanged, stamp])
        try db.execute(sql: "INSERT INTO batch_file (batch_id, file_sha256, recorded_at) VALUES (?, ?, ?)", arguments: [batchID, fileSHA256, stamp])
        return result
    }

    /// A number that changes whenever anything in the file changes (a batch, a contact, a purge;
    /// from this process or another), for answers cached in memory; nil when unknown.
    public func dataVersion() -> DataVersion? {
        watch.current()
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
