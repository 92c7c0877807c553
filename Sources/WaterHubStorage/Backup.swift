import Crypto
import Foundation
import GRDB

extension Ledger {
    /// Copies the ledger to `path` with SQLite's online backup: a consistent snapshot, while
    /// readers and writers go on.
    public func backup(to path: String) throws {
        try DatabaseFiles.backup(pool, to: path)
    }
}

extension TenantDatabase {
    /// Copies the town file to `path` with SQLite's online backup (see `Ledger.backup(to:)`).
    public func backup(to path: String) throws {
        try DatabaseFiles.backup(pool, to: path)
    }
}

/// Whole-file operations on the hub's SQLite files.
public enum DatabaseFiles {
    static func backup(_ pool: DatabasePool, to path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        try destination.close()
    }

    /// The SHA-256 of a file, hex, read in chunks.
    public static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StorageError(.damagedFile, "cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
