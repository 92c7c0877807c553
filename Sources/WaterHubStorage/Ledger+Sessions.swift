import Foundation
import GRDB

extension Ledger {
    /// The token with this id when it is still valid (not revoked, not expired), without its
    /// secret: a dashboard session checks its token again on every request, so revoking the
    /// token ends the session at once.
    public func activeToken(id: String, at date: Date = Date()) throws -> TokenInfo? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(Ledger.tokenInfo)
        }.flatMap { $0.isValid(at: date) ? $0 : nil }
    }
}
