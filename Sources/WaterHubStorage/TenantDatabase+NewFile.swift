import Foundation
import GRDB
import WaterHubCore

extension TenantDatabase {
    /// Applies batches to a town that has no file yet (the hub's first load of years of
    /// history, a town that joins): the file is built apart, under a hidden name in the same
    /// folder, and put in place whole once every batch is in it and it is on disk.
    ///
    /// The batches go through the same writer and checks as in an existing file, each with its
    /// applied_batch record; only the way to make the result durable differs. A file nobody can see
    /// yet needs no write-ahead log: its pages are written once instead of twice (log, then
    /// checkpoint), and synced once at the end instead of at every commit. The file switches to
    /// the write-ahead log before it is put in place, like every town file.
    ///
    /// Nil when the town has a file, or another process (a `serve` answering the town) created
    /// one meanwhile: the caller applies the usual way. When a batch fails, nothing of the
    /// town's file is kept, and every batch stays pending for the town.
    public static func applyToNewFile(tenant: Tenant, path: String, batches: [SpooledBatch], recordedAt: Date = Date(),
                                      caseCacheCapacity: Int = 10_000) async throws -> [ApplyResult]? {
        guard !FileManager.default.fileExists(atPath: path) else { return nil }
        let (building, results) = try await withCheckedThrowingContinuation { continuation in
            // Blocking file and SQLite work: on a thread of its own, not the concurrency pool's.
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try buildNewFile(tenant: tenant, path: path, batches: batches, recordedAt: recordedAt, caseCacheCapacity: caseCacheCapacity)
                })
            }
        }
        // The wait for the disk is the publisher's: this thread goes on to the next town.
        // link() never replaces a file: when another process created the town file meanwhile,
        // that file stays and the batches are applied to it the usual way.
        return try await FilePublisher.shared.publish(building, as: path) ? results : nil
    }

    /// The hidden names files are built under: `.<town file name>.new-<uuid>` in the same folder.
    static func isFileBeingBuilt(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".sqlite.new-")
    }

    /// Removes files a crash left half built (the ingest lock's holder calls it, with the
    /// staging leftovers).
    public static func removeUnfinishedNewFiles(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where isFileBeingBuilt(name) {
            unlink("\(folder)/\(name)")
        }
    }

    /// Builds the file under a hidden name and closes it; returns that name. On an error the
    /// hidden file is removed.
    private static func buildNewFile(tenant: Tenant, path: String, batches: [SpooledBatch], recordedAt: Date,
                                     caseCacheCapacity: Int) throws -> (building: String, results: [ApplyResult]) {
        let folder = (path as NSString).deletingLastPathComponent
        let building = "\(folder)/.\((path as NSString).lastPathComponent).new-\(UUID().uuidString)"
        try copyTemplate(toNewFile: building)
        var built = false
        defer { if !built { unlink(building) } }
        var configuration = Configuration()
        configuration.label = "new-tenant-\(tenant.nisCode)"
        // References are checked once, over the whole file, before it is put in place (see
        // `checkReferences`): the same rule as the per-row check every other connection makes,
        // at a quarter of its cost on a first load.
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: building, configuration: configuration)
        let results = try queue.writeWithoutTransaction { db in
            // A rollback journal in memory: a failing batch still rolls back; a crash leaves
            // only the hidden file, which is removed and built again.
            try db.execute(sql: "PRAGMA journal_mode = MEMORY")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            // As on every connection: a household removed again (`EventWriter.forget`) leaves no
            // identifier in the file's free space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // The batches in one transaction: nobody sees the file before it is complete, and a
            // failing batch discards it whole anyway, so the pages are written once at the end
            // instead of once per batch (each batch still writes its own applied_batch record).
            var results: [ApplyResult] = []
            try withApplyCache(db) {
                try db.inTransaction {
                    results = try batches.map { batch in
                        try apply(batch, in: db, nisCode: tenant.nisCode, caseCacheCapacity: caseCacheCapacity, recordedAt: recordedAt)
                    }
                    try checkReferences(db)
                    return .commit
                }
            }
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            return results
        }
        try queue.close()
        built = true
        return (building, results)
    }

    /// Every REFERENCES clause of a town file's schema, as (table, column, parent table, its
    /// column); a test compares it with the schema, so a migration that adds one must add it here.
    static let references = [("event", "household_id", "household", "id"), ("household_case", "household_id", "household", "id"),
                             ("contact", "household_id", "household", "id")]

    /// One statement that counts, per reference, the distinct values that no parent row has.
    static let referenceCheckSQL = references.map { table, column, parent, key in
        """
        SELECT '\(table).\(column)', count(*) FROM (SELECT DISTINCT \(column) AS value FROM \(table))
        WHERE value IS NOT NULL AND value NOT IN (SELECT \(key) FROM \(parent))
        """
    }.joined(separator: "\nUNION ALL\n")

    /// Fails when a row refers to a row that is not there (an event or a case to a missing
    /// household, say): a new file is built with per-row reference checks off, and checked
    /// whole with this before it is committed and put in place.
    ///
    /// The rule is the one `PRAGMA foreign_key_check` applies, but checked once per distinct
    /// value (read in order from the index that starts with the column) instead of once per row:
    /// on a 100,000-event town ~8 ms, where `foreign_key_check` takes ~34 ms and the per-row
    /// checks inside every INSERT ~110 ms (Ops/bench/README.md, "Profiling").
    static func checkReferences(_ db: Database) throws {
        for row in try Row.fetchAll(db, sql: referenceCheckSQL) where (row[1] as Int) > 0 {
            throw StorageError(.inconsistent, "\(row[1] as Int) value(s) of \(row[0] as String) refer to no row")
        }
    }
}
