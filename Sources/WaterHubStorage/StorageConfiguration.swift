import Foundation
import GRDB
import GRDBSQLite
import WaterHubCore

/// Settings every hub database shares, and the migration step that refuses newer files.
enum StorageConfiguration {
    /// WAL (readers never block the writer), foreign keys, and `synchronous = FULL`: a
    /// committed batch survives a power cut, which the exactly-once promise depends on.
    static func databaseConfiguration(label: String, cacheKiB: Int = 2048) -> Configuration {
        var configuration = Configuration()
        configuration.label = label
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            // What a purge or an erasure clears is overwritten with zeros in the file, not left
            // in its free space, whatever the default of the SQLite build (CSQLite's is on).
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return configuration
    }

    /// Copies the write-ahead log into the database file and empties it (truncates it to zero
    /// bytes), after a purge: the log holds the pages as they were before, personal data
    /// included, until it is truncated (SQLite's automatic checkpoints never truncate; the
    /// file's own pages are cleared by `secure_delete`). It waits for readers of older
    /// snapshots up to the busy timeout; false when one kept the log from emptying.
    @discardableResult
    static func emptyLog(_ pool: DatabasePool) -> Bool {
        guard let result = try? pool.writeWithoutTransaction({ db in try db.checkpoint(.truncate) }) else { return false }
        return result.walFrameCount == 0 || result.checkpointedFrameCount == result.walFrameCount
    }

    /// Creates a database file with mode 0600 before SQLite opens it (SQLite gives its WAL and
    /// shared-memory files the same mode), whatever the process's umask.
    static func createPrivately(_ path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
    }

    /// Applies the named migrations; a file that has migrations this binary does not know was
    /// written by a newer WaterHub and is refused rather than damaged.
    static func migrate(_ pool: DatabasePool, with migrator: DatabaseMigrator, file: String) throws {
        let applied = try pool.read { db -> Set<String> in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try migrator.appliedIdentifiers(db)
        }
        let unknown = applied.subtracting(migrator.migrations)
        if !unknown.isEmpty {
            throw StorageError(.newerSchema, "\(file) was written by a newer WaterHub (it has schema changes this version does not know: \(unknown.sorted().joined(separator: ", "))); upgrade WaterHub or restore a backup made by this version")
        }
        // An up-to-date file (every open but the first after an upgrade) needs no write.
        guard !applied.isSuperset(of: migrator.migrations) else { return }
        try migrator.migrate(pool)
        try compactAfterMigrating(pool)
    }

    /// A migration that rebuilds a table (v6 and v8 of the town files) leaves the old table's
    /// pages free in the file: up to half of it. They would be reused by later rows only over
    /// years of weekly batches, so the file is rewritten compactly once, right after (on a
    /// 100,000-event town ~0.4 s; files of 1,000,000 events: 606 → 357 MB).
    static func compactAfterMigrating(_ pool: DatabasePool) throws {
        let (pages, free) = try pool.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
        }
        guard free * 4 > pages else { return }
        try pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
    }

    /// Timestamps are stored as UTC ISO 8601 text with milliseconds, readable in the sqlite3 shell.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds / 1000
        let day = CalendarDate(daysSinceEpoch: Int(seconds / 86_400))
        let secondOfDay = Int(seconds % 86_400)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(day.iso)T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(Int(milliseconds % 1000), 3))Z"
    }

    /// Reads a timestamp written by `timestamp(_:)`.
    static func date(fromTimestamp text: String) -> Date? {
        guard text.count == 24, let day = CalendarDate(iso: text.prefix(10)) else { return nil }
        let time = text.dropFirst(11)
        guard let hour = Int(time.prefix(2)), let minute = Int(time.dropFirst(3).prefix(2)),
              let second = Int(time.dropFirst(6).prefix(2)), let millisecond = Int(time.dropFirst(9).prefix(3)) else { return nil }
        let seconds = Double(day.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second) + Double(millisecond) / 1000
        return Date(timeIntervalSince1970: seconds)
    }
}

/// Random opaque identifiers: household keys and token ids.
enum OpaqueKey {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")

    /// `length` characters from a 32-letter alphabet without look-alikes (5 bits each), from
    /// one read of the system's random source (not one system call per character).
    static func random(length: Int = 16) -> String {
        var generator = SystemRandomNumberGenerator()
        var bits = generator.next()
        var extra = generator.next()
        var characters: [Character] = []
        characters.reserveCapacity(length)
        for index in 0..<length {
            if index == 12 { bits = extra; extra = 0 }
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        return String(characters)
    }
}

/// The SQLite the hub runs on: compiled into the binary (Sources/CSQLite), not the system's.
public enum SQLiteBuild {
    /// Its version and release date, e.g. `3.50.4 (2025-07-30)`.
    public static var description: String {
        "\(String(cString: sqlite3_libversion())) (\(String(cString: sqlite3_sourceid()).prefix(10)))"
    }
}
