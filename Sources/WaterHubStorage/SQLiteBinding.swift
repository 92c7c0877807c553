import GRDB
import GRDBSQLite
import WaterHubCore

/// Binding values straight into a prepared SQLite statement, and reading its rows, for the
/// ingest's hot loop.
enum SQLiteBinding {
    /// SQLite copies the bytes (SQLITE_TRANSIENT), so they need not outlive the call.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds bytes as text. SQLite copies them (SQLITE_TRANSIENT), so they need not outlive the
    /// call, unless `borrowed`: then it reads them in place (SQLITE_STATIC) — only for bytes that
    /// stay valid and unchanged until the statement has run, on a statement whose every such
    /// parameter is bound again before it runs again (its old pointers stay bound after a reset,
    /// unread).
    static func bytes(_ handle: SQLiteStatement, _ index: Int32, _ bytes: UnsafeBufferPointer<UInt8>?, _ db: Database,
                      borrowed: Bool = false) throws {
        guard let bytes, let base = bytes.baseAddress else {
            try check(sqlite3_bind_null(handle, index), db)
            return
        }
        try check(base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            sqlite3_bind_text(handle, index, $0, Int32(bytes.count), borrowed ? nil : transient)
        }, db)
    }

    static func text(_ handle: SQLiteStatement, _ index: Int32, _ text: String, _ db: Database) throws {
        var text = text
        try text.withUTF8 { try bytes(handle, index, $0, db) }
    }

    static func integer(_ handle: SQLiteStatement, _ index: Int32, _ value: Int64?, _ db: Database) throws {
        try check(value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index), db)
    }

    /// A date as its `YYYY-MM-DD` text, written on the stack.
    static func date(_ handle: SQLiteStatement, _ index: Int32, _ date: CalendarDate?, _ db: Database) throws {
        guard let date else { return try check(sqlite3_bind_null(handle, index), db) }
        try date.withISOBytes { try bytes(handle, index, $0, db) }
    }

    /// Runs a bound statement that returns no rows and resets it; returns whether it changed a row.
    @discardableResult
    static func run(_ handle: SQLiteStatement, _ db: Database) throws -> Bool {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code, db) }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// Steps a bound statement through its rows, calling `row` at each, then resets it.
    static func forEachRow(_ handle: SQLiteStatement, _ db: Database, _ row: () throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: try row()
            case SQLITE_DONE: return
            case let code: throw error(code, db)
            }
        }
    }

    /// A text column of the current row; nil for NULL.
    static func text(_ handle: SQLiteStatement, column: Int32) -> String? {
        sqlite3_column_text(handle, column).map { String(cString: $0) }
    }

    /// An integer column of the current row; nil for NULL.
    static func integer(_ handle: SQLiteStatement, column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    static func check(_ code: Int32, _ db: Database) throws {
        guard code == SQLITE_OK else { throw error(code, db) }
    }

    static func error(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }
}
