import Foundation
import GRDB

extension Ledger {
    /// The token with this id when it is still valid (not revoked, not expired), without its
    /// secret: a dashboard session checks its token again on every request, so revoking the
    /// token ends the session at once.
    public func activeToken(id: String, at date: Date = Date()) throws -> TokenInfo? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, tenant, scope, label, created_at, expires_at, revoked_at FROM token WHERE id = ?",
                                             arguments: [id]) else { return nil }
            func time(_ column: String) -> Date? { (row[column] as String?).flatMap(StorageConfiguration.date(fromTimestamp:)) }
            guard time("revoked_at") == nil, (row["revoked_at"] as String?) == nil else { return nil }
            if let expiry = time("expires_at"), expiry <= date { return nil }
            guard let scope = TokenScope(rawValue: row["scope"]) else { return nil }
            return TokenInfo(id: row["id"], tenant: row["tenant"], scope: scope, label: row["label"],
                             createdAt: time("created_at") ?? Date(timeIntervalSince1970: 0), expiresAt: time("expires_at"))
        }
    }
}
