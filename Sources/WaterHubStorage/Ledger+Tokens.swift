import Crypto
import Foundation
import GRDB
import WaterHubCore

/// What a token may do.
public enum TokenScope: String, Sendable, Hashable, CaseIterable, Codable {
    /// Read one town's events, cases and reports.
    case read
    /// Read one town, and record contact attempts.
    case contacts
    /// Read the anonymised statistics of all towns; no town's data.
    case stats
}

/// A token as the ledger knows it: never the secret, only its salted hash.
public struct TokenInfo: Sendable, Hashable {
    public var id: String
    /// The one town this token opens; nil for a statistics token.
    public var tenant: String?
    public var scope: TokenScope
    public var label: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    /// A statistics token: it reads the figures of all towns and belongs to none.
    public var readsStatistics: Bool { scope == .stats && tenant == nil }

    /// Neither revoked nor expired at `date`.
    func isValid(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > date } ?? true)
    }
}

extension Ledger {
    /// Issues a token; the secret is returned once and only its salted SHA-256 is stored.
    ///
    /// The token reads `wh_<id>_<secret>`: the id finds the row, the 256-bit secret proves it.
    public func issueToken(tenant: String?, scope: TokenScope, label: String? = nil, expiresAt: Date? = nil,
                           at date: Date = Date()) throws -> (token: String, info: TokenInfo) {
        let id = OpaqueKey.random(length: 12)
        var generator = SystemRandomNumberGenerator()
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let salt = Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let secret = Base64URL.encode(secretBytes)
        let hash = Ledger.tokenHash(secret: secret, salt: salt)
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO token (id, tenant, scope, label, salt, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, tenant, scope.rawValue, label, salt, hash, StorageConfiguration.timestamp(date),
                                 expiresAt.map(StorageConfiguration.timestamp)])
        }
        let info = TokenInfo(id: id, tenant: tenant, scope: scope, label: label, createdAt: date, expiresAt: expiresAt)
        return ("wh_\(id)_\(secret)", info)
    }

    /// The token a presented string stands for, or nil when it is malformed, unknown, wrong,
    /// expired or revoked. The hash comparison takes the same time whatever the bytes.
    public func authenticate(_ presented: String, at date: Date = Date()) async throws -> TokenInfo? {
        let parts = presented.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "wh", parts[1].count == 12, parts[2].count == 43,
              parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        let id = String(parts[1]), secret = String(parts[2])
        let found = try await pool.read { db -> (salt: Data, hash: Data, info: TokenInfo)? in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM token WHERE id = ?"), arguments: [id]).map { ($0["salt"], $0["hash"], Ledger.tokenInfo($0)) }
        }
        // An unknown id costs the same hash as a known one, so timing does not tell them apart.
        let computed = Ledger.tokenHash(secret: secret, salt: found?.salt ?? Data(count: 16))
        guard let (_, stored, info) = found, Ledger.constantTimeEqual(computed, stored), info.isValid(at: date) else { return nil }
        // The last-used time is written with the request's audit entry (see recordAudit).
        return info
    }

    /// Every token, without secrets.
    public func tokens() throws -> [TokenInfo] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM token ORDER BY created_at, id").map(Ledger.tokenInfo) }
    }

    /// Revokes a token at once; returns false when there is no such token.
    @discardableResult
    public func revokeToken(id: String, at date: Date = Date()) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [StorageConfiguration.timestamp(date), id])
            return db.changesCount > 0
        }
    }

    static func tokenHash(secret: String, salt: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(secret.utf8))
        return Data(hasher.finalize())
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    static func tokenInfo(_ row: Row) -> TokenInfo {
        func date(_ column: String) -> Date? { (row[column] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)) }
        // An end that is set but cannot be read counts as passed: a token check fails closed.
        func end(_ column: String) -> Date? { (row[column] as String?).map { StorageConfiguration.date(fromTimestamp: $0) ?? .distantPast } }
        return TokenInfo(id: row["id"], tenant: row["tenant"], scope: TokenScope(rawValue: row["scope"]) ?? .read,
                         label: row["label"], createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0),
                         expiresAt: end("expires_at"), revokedAt: end("revoked_at"), lastUsedAt: date("last_used_at"))
    }
}

/// One line of the audit log: who asked what, and what they got (never personal data).
public struct AuditEntry: Sendable, Hashable {
    public var at: Date
    public var tokenID: String?
    public var tenant: String?
    public var method: String
    /// The route pattern (`/v1/tenants/{nis}/events`), not the query string.
    public var endpoint: String
    public var status: Int
    public var rows: Int

    public init(at: Date, tokenID: String?, tenant: String?, method: String, endpoint: String, status: Int, rows: Int) {
        self.at = at
        self.tokenID = tokenID
        self.tenant = tenant
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.rows = rows
    }
}

extension Ledger {
    /// Appends entries to the audit log in one transaction, and sets each token's last-used time.
    ///
    /// The commit is written to the WAL without an fsync of its own (`synchronous = NORMAL` for
    /// this transaction only): it survives a crash of the process at once, and a power cut from
    /// the next batch commit or checkpoint on. That keeps an audited request at a fraction of a
    /// millisecond instead of a disk sync per request.
    public func recordAudit(_ entries: [AuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            try db.inTransaction {
                let insert = try db.cachedStatement(sql: "INSERT INTO audit (at, token_id, tenant, method, endpoint, status, rows) VALUES (?, ?, ?, ?, ?, ?, ?)")
                var lastUse: [String: Date] = [:]
                for entry in entries {
                    try insert.execute(arguments: [StorageConfiguration.timestamp(entry.at), entry.tokenID, entry.tenant, entry.method,
                                                   entry.endpoint, entry.status, entry.rows])
                    if let token = entry.tokenID { lastUse[token] = max(lastUse[token] ?? entry.at, entry.at) }
                }
                let touch = try db.cachedStatement(sql: "UPDATE token SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
                for (token, date) in lastUse {
                    let stamp = StorageConfiguration.timestamp(date)
                    try touch.execute(arguments: [stamp, token, stamp])
                }
                return .commit
            }
        }
    }

    /// The audit log, oldest first, optionally for one town and from a date on.
    public func audit(tenant: String? = nil, since: Date? = nil, limit: Int = 10_000) throws -> [AuditEntry] {
        try pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let tenant { conditions.append("tenant = ?"); arguments += [tenant] }
            if let since { conditions.append("at >= ?"); arguments += [StorageConfiguration.timestamp(since)] }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT at, token_id, tenant, method, endpoint, status, rows FROM audit \(whereClause) ORDER BY id LIMIT \(limit)",
                                    arguments: arguments).map { row in
                AuditEntry(at: StorageConfiguration.date(fromTimestamp: row[0]) ?? Date(timeIntervalSince1970: 0), tokenID: row[1],
                           tenant: row[2], method: row[3], endpoint: row[4], status: row[5], rows: row[6])
            }
        }
    }
}

/// Base64 with the URL-safe alphabet and no padding, for tokens and cursors.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)]]
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [alphabet[Int(value >> 18)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)]]
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for byte in text.utf8 {
            guard let index = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt32(index))
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index + 4 <= values.count {
            let value = values[index] << 18 | values[index + 1] << 12 | values[index + 2] << 6 | values[index + 3]
            output += [UInt8(value >> 16), UInt8(value >> 8 & 255), UInt8(value & 255)]
            index += 4
        }
        let rest = values.count - index
        if rest == 2 {
            output.append(UInt8((values[index] << 18 | values[index + 1] << 12) >> 16))
        } else if rest == 3 {
            let value = values[index] << 18 | values[index + 1] << 12 | values[index + 2] << 6
            output += [UInt8(value >> 16), UInt8(value >> 8 & 255)]
        }
        return output
    }
}
