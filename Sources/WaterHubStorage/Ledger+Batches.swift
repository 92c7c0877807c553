import Foundation
import GRDB
import WaterHubCore

/// How the rows of one file were accounted for. Every row ends in exactly one place.
public struct BatchCounts: Sendable, Hashable, Codable {
    public var rowsIn = 0
    public var routed = 0
    public var outsideRegion = 0
    public var quarantined = 0

    public init(rowsIn: Int = 0, routed: Int = 0, outsideRegion: Int = 0, quarantined: Int = 0) {
        self.rowsIn = rowsIn
        self.routed = routed
        self.outsideRegion = outsideRegion
        self.quarantined = quarantined
    }

    /// `in = routed + outside_region + quarantined`: the hub refuses a batch where this fails.
    public var balances: Bool { rowsIn == routed + outsideRegion + quarantined }
}

/// A batch as the ledger keeps it: one received file on its way into the town files.
public struct BatchRecord: Sendable, Hashable {
    public enum Status: String, Sendable {
        /// Being parsed and split; a crash here means routing starts over.
        case routing
        /// Split into spools; being applied to towns.
        case routed
        /// Applied to every town it concerns.
        case applied
        /// Held as a whole (header mismatch, too many bad rows): nothing of it is stored.
        case held
    }

    public var id: Int64
    public var source: String
    public var deliveryID: Int64
    public var sha256: String
    public var status: Status
    public var counts: BatchCounts?
    public var message: String?
}

extension Ledger {
    /// Records the result of routing in one transaction: the counts (which must balance), the
    /// events per town still to apply, and the quarantined rows from their spool.
    public func completeRouting(batchID: Int64, counts: BatchCounts, eventsPerTenant: [String: Int],
                                quarantine: SpoolReader?, at date: Date = Date()) throws {
        guard counts.balances else {
            throw StorageError(.inconsistent, "batch \(batchID) does not balance: \(counts.rowsIn) rows in, but \(counts.routed) routed + \(counts.outsideRegion) outside the region + \(counts.quarantined) quarantined")
        }
        guard eventsPerTenant.values.reduce(0, +) == counts.routed else {
            throw StorageError(.inconsistent, "batch \(batchID): \(counts.routed) rows routed, but the towns' spools hold \(eventsPerTenant.values.reduce(0, +))")
        }
        let stamp = StorageConfiguration.timestamp(date)
        try pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT source, sha256, status FROM batch WHERE id = ?", arguments: [batchID]) else {
                throw StorageError(.notFound, "batch \(batchID) is not in the ledger")
            }
            guard (row[2] as String) == BatchRecord.Status.routing.rawValue else { return }
            let source: String = row[0], sha256: String = row[1]
            var quarantined = 0
            if var quarantine {
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO quarantine (batch_id, source, sha256, line, field, code, reason, raw, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                while let fields = quarantine.next() {
                    guard let held = QuarantinedRow(spoolFields: fields) else { break }
                    try insert.execute(arguments: [batchID, source, sha256, held.line, held.problem.field, held.problem.code.rawValue,
                                                   held.problem.message, Data(held.raw), stamp])
                    quarantined += 1
                }
                if quarantine.damaged { throw StorageError(.damagedFile, "the quarantine spool of batch \(batchID) is damaged") }
            }
            guard quarantined == counts.quarantined else {
                throw StorageError(.inconsistent, "batch \(batchID): \(counts.quarantined) rows quarantined, but the quarantine spool holds \(quarantined)")
            }
            for (tenant, events) in eventsPerTenant where events > 0 {
                try db.execute(sql: "INSERT INTO batch_tenant (batch_id, tenant, events) VALUES (?, ?, ?)", arguments: [batchID, tenant, events])
            }
            let status: BatchRecord.Status = eventsPerTenant.isEmpty ? .applied : .routed
            try db.execute(sql: """
                UPDATE batch SET status = ?, rows_in = ?, routed = ?, outside_region = ?, quarantined = ?, finished_at = ? WHERE id = ?
                """, arguments: [status.rawValue, counts.rowsIn, counts.routed, counts.outsideRegion, counts.quarantined,
                                 status == .applied ? stamp : nil, batchID])
        }
    }

    /// Holds a whole batch: nothing of it is stored, and the message says why.
    public func holdBatch(batchID: Int64, message: String, at date: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'held', message = ?, finished_at = ? WHERE id = ?",
                           arguments: [message, StorageConfiguration.timestamp(date), batchID])
        }
    }

    /// Records that a batch was applied to a town; closes the batch when every town has it.
    public func markApplied(batchID: Int64, tenant: String, at date: Date = Date()) throws {
        try markApplied(batchID: batchID, tenants: [tenant], at: date)
    }

    /// Records that a batch was applied to these towns, in one transaction. The ledger may lag
    /// behind the town files after a crash, never run ahead of them: a town that already has a
    /// batch answers so when it is applied again, and is marked then.
    public func markApplied(batchID: Int64, tenants: [String], at date: Date = Date()) throws {
        let stamp = StorageConfiguration.timestamp(date)
        try pool.write { db in
            for tenant in tenants {
                try db.execute(sql: "UPDATE batch_tenant SET applied_at = ? WHERE batch_id = ? AND tenant = ? AND applied_at IS NULL",
                               arguments: [stamp, batchID, tenant])
            }
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_tenant WHERE batch_id = ? AND applied_at IS NULL", arguments: [batchID]) ?? 0
            if pending == 0 {
                try db.execute(sql: "UPDATE batch SET status = 'applied', finished_at = ? WHERE id = ? AND status = 'routed'", arguments: [stamp, batchID])
            }
        }
    }

    /// When a batch was last applied to a town (nil when none was).
    public func lastAppliedAt() throws -> Date? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT MAX(applied_at) FROM batch_tenant").flatMap(StorageConfiguration.date(fromTimestamp:))
        }
    }

    /// Batches that were started but not applied to every town (after a crash, a kill, a full disk).
    public func unfinishedBatches() throws -> [BatchRecord] {
        try batches(where: "status IN ('routing', 'routed')")
    }

    /// One batch.
    public func batch(_ id: Int64) throws -> BatchRecord? {
        try batches(where: "id = \(id)").first
    }

    /// The most recent batches, newest first.
    public func recentBatches(limit: Int = 20) throws -> [BatchRecord] {
        try batches(where: "1", order: "id DESC", limit: limit)
    }

    /// The towns a routed batch still has to be applied to, with their event counts.
    public func pendingTenants(batchID: Int64) throws -> [String: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT tenant, events FROM batch_tenant WHERE batch_id = ? AND applied_at IS NULL", arguments: [batchID])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, $0[1] as Int) })
        }
    }

    /// Per town, each applied batch and its event count (for reconciliation with the town files).
    public func appliedEvents(tenant: String) throws -> [Int64: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT batch_id, events FROM batch_tenant WHERE tenant = ? AND applied_at IS NOT NULL", arguments: [tenant])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as Int64, $0[1] as Int) })
        }
    }

    /// Per town, every batch routed to it (applied or not).
    public func routedEvents(tenant: String) throws -> [Int64: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT batch_id, events FROM batch_tenant WHERE tenant = ?", arguments: [tenant])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as Int64, $0[1] as Int) })
        }
    }

    private func batches(where condition: String, order: String = "id", limit: Int? = nil) throws -> [BatchRecord] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, source, delivery_id, sha256, status, rows_in, routed, outside_region, quarantined, message
                FROM batch WHERE \(condition) ORDER BY \(order) \(limit.map { "LIMIT \($0)" } ?? "")
                """)
            return rows.map { row in
                var counts: BatchCounts?
                if let rowsIn = row[5] as Int? {
                    counts = BatchCounts(rowsIn: rowsIn, routed: row[6], outsideRegion: row[7], quarantined: row[8])
                }
                return BatchRecord(id: row[0], source: row[1], deliveryID: row[2], sha256: row[3],
                                   status: BatchRecord.Status(rawValue: row[4])!, counts: counts, message: row[9])
            }
        }
    }
}

extension Ledger {
    /// The delivery a batch was made from.
    public func delivery(id: Int64) throws -> Delivery? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, source, sha256, bytes, archive_path FROM delivery WHERE id = ?", arguments: [id])
                .map { Delivery(id: $0[0], source: $0[1], sha256: $0[2], bytes: $0[3], archivePath: $0[4]) }
        }
    }
}

extension Ledger {
    /// Every town a batch was routed to, with its event count (applied or not).
    public func routedTenants(batchID: Int64) throws -> [String: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT tenant, events FROM batch_tenant WHERE batch_id = ?", arguments: [batchID])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, $0[1] as Int) })
        }
    }
}
