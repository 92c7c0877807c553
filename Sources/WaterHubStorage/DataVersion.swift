import GRDBSQLite
import Synchronization

/// What a database file held when it was looked at: equal versions mean the file did not
/// change in between. Only versions from the same watching connection compare (SQLite's
/// `data_version` is a counter of that connection), so each connection has its own generation.
public struct DataVersion: Sendable, Hashable {
    public let generation: UInt64
    public let value: Int64
}

/// Tells whether a database file changed, by any connection of any process: SQLite's
/// `PRAGMA data_version` on one connection of its own that never writes. Its value changes
/// whenever another connection commits; reading it costs a few microseconds (SQLite looks at
/// the WAL index in shared memory), so a cached answer can be checked on every request.
final class DataVersionWatch: Sendable {
    private let path: String
    private let state = Mutex<Connection?>(nil)
    /// Generations of watching connections, unique in the process.
    private static let generations = Atomic<UInt64>(0)

    /// The watching connection, opened on first use.
    private final class Connection {
        let handle: OpaquePointer
        let statement: OpaquePointer
        let generation = DataVersionWatch.generations.add(1, ordering: .relaxed).newValue

        init?(path: String) {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
                sqlite3_close(handle)
                return nil
            }
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(handle, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK, let statement else {
                sqlite3_close(handle)
                return nil
            }
            self.handle = handle
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(statement)
            sqlite3_close(handle)
        }
    }

    init(path: String) {
        self.path = path
    }

    /// The file's current data version; nil when it cannot be read (then nothing may be cached).
    func current() -> DataVersion? {
        state.withLock { connection in
            if connection == nil { connection = Connection(path: path) }
            guard let watch = connection else { return nil }
            defer { sqlite3_reset(watch.statement) }
            guard sqlite3_step(watch.statement) == SQLITE_ROW else {
                connection = nil
                return nil
            }
            return DataVersion(generation: watch.generation, value: sqlite3_column_int64(watch.statement, 0))
        }
    }

    /// Closes the watching connection (it holds a shared lock that would keep the last
    /// connection of the file's pool from checkpointing and removing the log when it closes).
    func close() {
        state.withLock { $0 = nil }
    }
}
