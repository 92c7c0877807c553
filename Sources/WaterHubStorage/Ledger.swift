import Foundation
import GRDB
import WaterHubCore

/// The hub's own book (`Tenants/hub.sqlite`): every fetch, every file received, every batch and
/// to which towns it was applied, quarantined rows, tokens and the audit log.
///
/// Town data never lives here; the ledger holds counts, hashes and (for quarantine, operator
/// only) raw rows.
public final class Ledger: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Checkpoints the log off the commit path (an audit entry's commit is a request's wait).
    let checkpointer: LogCheckpointer

    public init(path: String) throws {
        self.path = path
        StorageConfiguration.createPrivately(path)
        pool = try DatabasePool(path: path, configuration: StorageConfiguration.databaseConfiguration(label: "ledger"))
        try StorageConfiguration.migrate(pool, with: Ledger.migrator, file: path)
        checkpointer = LogCheckpointer(path: path, label: "ledger")
        checkpointer.attach(to: pool)
    }

    deinit {
        checkpointer.detach(from: pool)
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: fetches, deliveries, batches, quarantine, tokens, audit") { db in
            try db.execute(sql: """
                CREATE TABLE fetch (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    url TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
                    outcome TEXT NOT NULL CHECK (outcome IN ('new', 'duplicate', 'not_modified', 'failed')),
                    http_status INTEGER,
                    bytes INTEGER NOT NULL DEFAULT 0,
                    sha256 TEXT,
                    etag TEXT,
                    last_modified TEXT,
                    attempts INTEGER NOT NULL DEFAULT 1,
                    message TEXT
                ) STRICT;
                CREATE INDEX fetch_by_source ON fetch(source, id);
                CREATE TABLE delivery (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    archive_path TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    fetch_id INTEGER REFERENCES fetch(id),
                    UNIQUE (source, sha256)
                ) STRICT;
                CREATE TABLE batch (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    delivery_id INTEGER NOT NULL REFERENCES delivery(id),
                    sha256 TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('routing', 'routed', 'applied', 'held')),
                    rows_in INTEGER,
                    routed INTEGER,
                    outside_region INTEGER,
                    quarantined INTEGER,
                    created_at TEXT NOT NULL,
                    finished_at TEXT,
                    message TEXT,
                    CHECK (status IN ('routing', 'held') OR rows_in = routed + outside_region + quarantined)
                ) STRICT;
                CREATE TABLE batch_tenant (
                    batch_id INTEGER NOT NULL REFERENCES batch(id),
                    tenant TEXT NOT NULL,
                    events INTEGER NOT NULL CHECK (events > 0),
                    applied_at TEXT,
                    PRIMARY KEY (batch_id, tenant)
                ) STRICT;
                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY,
                    batch_id INTEGER NOT NULL REFERENCES batch(id),
                    source TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    line INTEGER NOT NULL,
                    field TEXT,
                    code TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    raw BLOB,
                    created_at TEXT NOT NULL,
                    released_at TEXT
                ) STRICT;
                CREATE INDEX quarantine_by_batch ON quarantine(batch_id, line);
                CREATE TABLE token (
                    id TEXT PRIMARY KEY,
                    tenant TEXT,
                    scope TEXT NOT NULL CHECK (scope IN ('read', 'contacts', 'stats')),
                    label TEXT,
                    salt BLOB NOT NULL,
                    hash BLOB NOT NULL,
                    created_at TEXT NOT NULL,
                    expires_at TEXT,
                    revoked_at TEXT,
                    last_used_at TEXT,
                    CHECK ((scope = 'stats') = (tenant IS NULL))
                ) STRICT;
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    token_id TEXT,
                    tenant TEXT,
                    method TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    rows INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                CREATE INDEX audit_by_tenant ON audit(tenant, at);
                """)
        }
        migrator.registerMigration("v2: purge log, purged deliveries") { db in
            try db.execute(sql: """
                ALTER TABLE delivery ADD COLUMN purged_at TEXT;
                CREATE TABLE purge_log (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    tenant TEXT,
                    kind TEXT NOT NULL CHECK (kind IN ('retention', 'erasure', 'archive')),
                    households INTEGER NOT NULL DEFAULT 0,
                    events INTEGER NOT NULL DEFAULT 0,
                    files INTEGER NOT NULL DEFAULT 0,
                    quarantined_rows INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                """)
        }
        migrator.registerMigration("v3: source state") { db in
            try db.execute(sql: """
                CREATE TABLE source_state (
                    source TEXT PRIMARY KEY,
                    first_seen_at TEXT NOT NULL,
                    overdue_since TEXT
                ) STRICT;
                """)
        }
        migrator.registerMigration("v4: releases of held rows") { db in
            try db.execute(sql: """
                ALTER TABLE batch ADD COLUMN release_of INTEGER REFERENCES batch(id);
                ALTER TABLE quarantine ADD COLUMN released_batch INTEGER REFERENCES batch(id);
                """)
        }
        return migrator
    }()
}

// MARK: - Fetches and deliveries

/// One fetch attempt, as the ledger keeps it (provenance).
public struct FetchRecord: Sendable, Hashable {
    public enum Outcome: String, Sendable {
        case new, duplicate
        case notModified = "not_modified"
        case failed
    }

    public var source: String
    /// The URL without credentials.
    public var url: String
    public var startedAt: Date
    public var durationMilliseconds: Int
    public var outcome: Outcome
    public var httpStatus: Int?
    public var bytes: Int64
    public var sha256: String?
    public var etag: String?
    public var lastModified: String?
    public var attempts: Int
    public var message: String?

    public init(source: String, url: String, startedAt: Date, durationMilliseconds: Int, outcome: Outcome,
                httpStatus: Int? = nil, bytes: Int64 = 0, sha256: String? = nil, etag: String? = nil,
                lastModified: String? = nil, attempts: Int = 1, message: String? = nil) {
        self.source = source
        self.url = url
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.bytes = bytes
        self.sha256 = sha256
        self.etag = etag
        self.lastModified = lastModified
        self.attempts = attempts
        self.message = message
    }
}

/// A raw file the hub received and archived.
public struct Delivery: Sendable, Hashable {
    public var id: Int64
    public var source: String
    public var sha256: String
    public var bytes: Int64
    public var archivePath: String
}

extension Ledger {
    /// Records a fetch attempt; returns its id.
    @discardableResult
    public func record(_ fetch: FetchRecord) throws -> Int64 {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO fetch (source, url, started_at, duration_ms, outcome, http_status, bytes, sha256, etag, last_modified, attempts, message)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [fetch.source, fetch.url, StorageConfiguration.timestamp(fetch.startedAt), fetch.durationMilliseconds,
                                 fetch.outcome.rawValue, fetch.httpStatus, fetch.bytes, fetch.sha256, fetch.etag, fetch.lastModified,
                                 fetch.attempts, fetch.message])
            return db.lastInsertedRowID
        }
    }

    /// The validators (ETag, Last-Modified) of the last successful fetch of a source, for a conditional request.
    public func lastValidators(source: String) throws -> (etag: String?, lastModified: String?) {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT etag, last_modified FROM fetch WHERE source = ? AND outcome IN ('new', 'duplicate') ORDER BY id DESC LIMIT 1
                """, arguments: [source])
            return (row?[0], row?[1])
        }
    }

    /// The delivery of a file with this hash from this source, if the hub has it already.
    public func delivery(source: String, sha256: String) throws -> Delivery? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, source, sha256, bytes, archive_path FROM delivery WHERE source = ? AND sha256 = ?",
                             arguments: [source, sha256]).map { Delivery(id: $0[0], source: $0[1], sha256: $0[2], bytes: $0[3], archivePath: $0[4]) }
        }
    }

    /// Records a newly archived file and opens its batch, in one transaction: a file the ledger
    /// knows always has a batch, so a crash between the two cannot make a new file look like a
    /// duplicate that is never ingested.
    public func recordDelivery(source: String, sha256: String, bytes: Int64, archivePath: String, fetchID: Int64?,
                               at date: Date = Date()) throws -> (delivery: Delivery, batchID: Int64) {
        try pool.write { db in
            let stamp = StorageConfiguration.timestamp(date)
            try db.execute(sql: "INSERT INTO delivery (source, sha256, bytes, archive_path, received_at, fetch_id) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [source, sha256, bytes, archivePath, stamp, fetchID])
            let delivery = Delivery(id: db.lastInsertedRowID, source: source, sha256: sha256, bytes: bytes, archivePath: archivePath)
            try db.execute(sql: "INSERT INTO batch (source, delivery_id, sha256, status, created_at) VALUES (?, ?, ?, 'routing', ?)",
                           arguments: [source, delivery.id, sha256, stamp])
            return (delivery, db.lastInsertedRowID)
        }
    }
}

extension Ledger {
    /// When a source last delivered a file (new or duplicate) or answered 304.
    public func lastSuccessfulFetch(source: String) throws -> Date? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT started_at FROM fetch WHERE source = ? AND outcome != 'failed' ORDER BY id DESC LIMIT 1",
                                arguments: [source]).flatMap(StorageConfiguration.date(fromTimestamp:))
        }
    }
}

extension Ledger {
    /// Runs `PRAGMA integrity_check` on the ledger; returns the problems (empty when sound).
    public func integrityProblems() throws -> [String] {
        try pool.read { db in
            let lines = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            return lines == ["ok"] ? [] : lines
        }
    }
}

/// What the ledger knows about one source's deliveries, for status and overdue alarms.
public struct SourceRecord: Sendable, Hashable {
    public var source: String
    /// When the hub first saw this source in its configuration.
    public var firstSeen: Date
    /// The last time a new file (not a duplicate) arrived.
    public var lastNewFile: Date?
    /// The last attempt, whatever its outcome.
    public var lastAttempt: Date?
    /// The last fetch that worked (new, duplicate or not modified).
    public var lastSuccess: Date?
    /// The last failure and its message.
    public var lastError: (at: Date, message: String)?
    /// Since when the source is overdue (set once, when the alarm was raised).
    public var overdueSince: Date?

    public static func == (lhs: SourceRecord, rhs: SourceRecord) -> Bool {
        lhs.source == rhs.source && lhs.lastNewFile == rhs.lastNewFile && lhs.lastAttempt == rhs.lastAttempt && lhs.overdueSince == rhs.overdueSince
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

extension Ledger {
    /// Notes the configured sources (their first-seen time starts the overdue clock).
    public func noteSources(_ sources: [String], at date: Date = Date()) throws {
        try pool.write { db in
            for source in sources {
                try db.execute(sql: "INSERT OR IGNORE INTO source_state (source, first_seen_at) VALUES (?, ?)",
                               arguments: [source, StorageConfiguration.timestamp(date)])
            }
        }
    }

    /// The delivery record of one source.
    public func sourceRecord(_ source: String) throws -> SourceRecord {
        try pool.read { db in
            func date(_ sql: String) throws -> Date? {
                try String.fetchOne(db, sql: sql, arguments: [source]).flatMap(StorageConfiguration.date(fromTimestamp:))
            }
            let state = try Row.fetchOne(db, sql: "SELECT first_seen_at, overdue_since FROM source_state WHERE source = ?", arguments: [source])
            let error = try Row.fetchOne(db, sql: "SELECT started_at, message FROM fetch WHERE source = ? AND outcome = 'failed' ORDER BY id DESC LIMIT 1",
                                         arguments: [source])
            return SourceRecord(
                source: source,
                firstSeen: (state?[0] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)) ?? Date(),
                lastNewFile: try date("SELECT MAX(received_at) FROM delivery WHERE source = ?"),
                lastAttempt: try date("SELECT MAX(started_at) FROM fetch WHERE source = ?"),
                lastSuccess: try date("SELECT MAX(started_at) FROM fetch WHERE source = ? AND outcome != 'failed'"),
                lastError: error.flatMap { row in
                    (row[0] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)).map { ($0, (row[1] as String?) ?? "") }
                },
                overdueSince: (state?[1] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)))
        }
    }

    /// Marks a source overdue from `date`, or clears the mark (nil). Returns whether it changed.
    @discardableResult
    public func setOverdue(_ source: String, since date: Date?) throws -> Bool {
        try pool.write { db in
            if let date {
                try db.execute(sql: "UPDATE source_state SET overdue_since = ? WHERE source = ? AND overdue_since IS NULL",
                               arguments: [StorageConfiguration.timestamp(date), source])
            } else {
                try db.execute(sql: "UPDATE source_state SET overdue_since = NULL WHERE source = ? AND overdue_since IS NOT NULL", arguments: [source])
            }
            return db.changesCount > 0
        }
    }
}
