import Foundation
import GRDB
import WaterHubCore

/// A quarantined row as the operator lists it (the raw text only through `quarantineRaw`).
public struct QuarantineEntry: Sendable, Hashable {
    public var id: Int64
    public var batchID: Int64
    public var source: String
    public var fileSHA256: String
    public var line: Int
    public var problem: RowProblem
    public var createdAt: Date
    /// When a release stored (or counted) the row; nil while it is held.
    public var releasedAt: Date?
    public var releasedBatch: Int64?
}

extension Ledger {
    /// Quarantined rows, oldest first: held ones only unless `includeReleased`.
    public func quarantineEntries(source: String? = nil, batchID: Int64? = nil, includeReleased: Bool = false,
                                  limit: Int = 1000) throws -> [QuarantineEntry] {
        try pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let source { conditions.append("source = ?"); arguments += [source] }
            if let batchID { conditions.append("batch_id = ?"); arguments += [batchID] }
            if !includeReleased { conditions.append("released_at IS NULL") }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: """
                SELECT id, batch_id, source, sha256, line, field, code, reason, created_at, released_at, released_batch
                FROM quarantine \(filter) ORDER BY batch_id, line LIMIT \(limit)
                """, arguments: arguments).map(Ledger.quarantineEntry)
        }
    }

    /// One quarantined row with its raw bytes (personal data: for the operator's eyes only).
    public func quarantineEntry(id: Int64) throws -> (entry: QuarantineEntry, raw: Data?)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT id, batch_id, source, sha256, line, field, code, reason, created_at, released_at, released_batch, raw
                FROM quarantine WHERE id = ?
                """, arguments: [id]).map { (Ledger.quarantineEntry($0), $0[11] as Data?) }
        }
    }

    /// Opens a release batch: the held rows of `original` read again with the current configuration.
    public func beginRelease(of original: BatchRecord, at date: Date = Date()) throws -> Int64 {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO batch (source, delivery_id, sha256, status, created_at, release_of) VALUES (?, ?, ?, 'routing', ?, ?)",
                           arguments: [original.source, original.deliveryID, original.sha256, StorageConfiguration.timestamp(date), original.id])
            return db.lastInsertedRowID
        }
    }

    /// Records a release in one transaction: counts (which must balance), events per town, the
    /// rows released, and the new reason of the rows that are still held.
    public func completeRelease(batchID: Int64, counts: BatchCounts, eventsPerTenant: [String: Int], released: [Int64],
                                stillHeld: [Int64: RowProblem], at date: Date = Date()) throws {
        guard counts.balances, counts.quarantined == stillHeld.count, counts.rowsIn == released.count + stillHeld.count else {
            throw StorageError(.inconsistent, "release batch \(batchID) does not balance: \(counts.rowsIn) rows in, \(counts.routed) routed, \(counts.outsideRegion) outside, \(counts.quarantined) still held")
        }
        let stamp = StorageConfiguration.timestamp(date)
        try pool.write { db in
            for id in released {
                try db.execute(sql: "UPDATE quarantine SET released_at = ?, released_batch = ? WHERE id = ? AND released_at IS NULL",
                               arguments: [stamp, batchID, id])
            }
            for (id, problem) in stillHeld {
                try db.execute(sql: "UPDATE quarantine SET code = ?, field = ?, reason = ? WHERE id = ?",
                               arguments: [problem.code.rawValue, problem.field, problem.message, id])
            }
            for (tenant, events) in eventsPerTenant where events > 0 {
                try db.execute(sql: "INSERT INTO batch_tenant (batch_id, tenant, events) VALUES (?, ?, ?)", arguments: [batchID, tenant, events])
            }
            let status = eventsPerTenant.isEmpty ? "applied" : "routed"
            try db.execute(sql: """
                UPDATE batch SET status = ?, rows_in = ?, routed = ?, outside_region = ?, quarantined = ?, finished_at = ? WHERE id = ?
                """, arguments: [status, counts.rowsIn, counts.routed, counts.outsideRegion, counts.quarantined,
                                 status == "applied" ? stamp : nil, batchID])
        }
    }

    /// Sets a held batch back to routing, to be read again with the current configuration.
    public func reopenHeldBatch(_ batchID: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'routing', message = NULL, finished_at = NULL WHERE id = ? AND status = 'held'",
                           arguments: [batchID])
            guard db.changesCount == 1 else { throw StorageError(.notFound, "batch \(batchID) is not held") }
        }
    }

    /// Whether a batch is a release of held rows (rather than a whole file).
    public func isRelease(batchID: Int64) throws -> Bool {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT release_of FROM batch WHERE id = ?", arguments: [batchID]) != nil }
    }

    /// Whether the raw file of a delivery was purged after its retention.
    public func isPurged(deliveryID: Int64) throws -> Bool {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT purged_at FROM delivery WHERE id = ?", arguments: [deliveryID]) != nil }
    }

    private static func quarantineEntry(_ row: Row) -> QuarantineEntry {
        QuarantineEntry(id: row[0], batchID: row[1], source: row[2], fileSHA256: row[3], line: row[4],
                        problem: RowProblem(RowProblem.Code(rawValue: row[6]) ?? .malformedRow, field: row[5], row[7]),
                        createdAt: StorageConfiguration.date(fromTimestamp: row[8]) ?? Date(timeIntervalSince1970: 0),
                        releasedAt: (row[9] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)), releasedBatch: row[10])
    }
}
