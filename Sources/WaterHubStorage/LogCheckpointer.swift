import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies a database's write-ahead log into the file on a thread of its own, so that no commit
/// waits for it.
///
/// SQLite checkpoints inside the commit that fills the log past 1,000 pages: that commit writes
/// 4 MB into the file and forces it to disk. On the ledger that commit is an audit entry a
/// request waits for; with a slow disk each checkpoint held every waiting request for tens to
/// hundreds of milliseconds (the pull benchmark's p99 at 32 connections: 42 ms to 1 s in two of
/// three runs). Installed on the writer connection, the log hook replaces SQLite's automatic
/// checkpoint: past the same 1,000 pages it asks this checkpointer, which runs a passive
/// checkpoint (it waits for no reader and no writer) on its own connection. While commits come
/// faster than it copies, the log grows; at ten times the limit the committing connection
/// checkpoints itself, as SQLite would have, so the log stays bounded.
final class LogCheckpointer: @unchecked Sendable {
    /// Log pages after which a checkpoint is started (SQLite's own default).
    static let pagesBeforeCheckpoint = 1_000
    /// Log pages after which the committing connection checkpoints itself.
    static let pagesBeforeCommitCheckpoints = 10 * pagesBeforeCheckpoint

    private let path: String
    private let label: String
    /// Where checkpoints run, one at a time (tests hold it to show that commits do not wait).
    let queue: DispatchQueue
    /// Whether a checkpoint is queued or running: the hook starts at most one at a time.
    private let busy = Atomic<Bool>(false)
    /// Checkpoints run so far, and the log's size in pages after the last commit (for tests
    /// and diagnostics).
    private let completed = Atomic<Int>(0)
    private let pagesAfterLastCommit = Atomic<Int>(0)
    /// The checkpointer's own connection, opened at its first checkpoint; used on `queue` only.
    private var connection: DatabaseQueue?

    init(path: String, label: String) {
        self.path = path
        self.label = label
        queue = DispatchQueue(label: "waterhub.\(label).checkpoint", qos: .utility)
    }

    var checkpointsRun: Int { completed.load(ordering: .acquiring) }
    var logPages: Int { pagesAfterLastCommit.load(ordering: .acquiring) }

    /// Installs the hook on the pool's writer connection. `detach` must run before the pool closes.
    func attach(to pool: DatabasePool) {
        let context = Unmanaged.passRetained(self).toOpaque()
        pool.writeWithoutTransaction { db in
            _ = sqlite3_wal_hook(db.sqliteConnection, { context, connection, _, pages in
                Unmanaged<LogCheckpointer>.fromOpaque(context!).takeUnretainedValue().logHas(pages: Int(pages), writer: connection)
                return SQLITE_OK
            }, context)
        }
    }

    /// Removes the hook and waits for a running checkpoint.
    func detach(from pool: DatabasePool) {
        pool.writeWithoutTransaction { db in _ = sqlite3_wal_hook(db.sqliteConnection, nil, nil) }
        queue.sync {}
        Unmanaged.passUnretained(self).release()
    }

    /// Called after every commit with the log's size in pages; cheap unless a checkpoint is due.
    private func logHas(pages: Int, writer: OpaquePointer?) {
        pagesAfterLastCommit.store(pages, ordering: .releasing)
        if pages >= LogCheckpointer.pagesBeforeCommitCheckpoints {
            _ = sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return
        }
        guard pages >= LogCheckpointer.pagesBeforeCheckpoint,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            checkpoint()
            busy.store(false, ordering: .releasing)
        }
    }

    private func checkpoint() {
        // A failed or partial checkpoint leaves the log as it is: the next commit past the limit
        // starts another one, and SQLite checkpoints when the last connection closes.
        do {
            let connection = try self.connection
                ?? DatabaseQueue(path: path, configuration: StorageConfiguration.databaseConfiguration(label: "\(label)-checkpoint"))
            self.connection = connection
            let result = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            if result.walFrameCount >= 0 { completed.add(1, ordering: .releasing) }
        } catch {}
    }
}
