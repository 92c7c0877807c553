import Foundation
import Hummingbird
import HummingbirdAuth
import WaterHubStorage

/// Resolves `Authorization: Bearer wh_…` to exactly one token (and so at most one town).
///
/// A request without a valid token is refused with 401 and a `WWW-Authenticate` challenge
/// before any route runs; routes that need no token (`/healthz`) are outside this middleware.
public struct TokenAuthenticator: AuthenticatorMiddleware {
    public typealias Context = HubRequestContext
    let ledger: Ledger
    let now: @Sendable () -> Date

    public init(ledger: Ledger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.now = now
    }

    public func authenticate(request: Request, context: HubRequestContext) async throws -> TokenInfo? {
        guard let bearer = request.headers.bearer else {
            throw APIError.unauthorized(request.headers[.authorization] == nil ? "a bearer token is required" : "the Authorization header is not a bearer token")
        }
        guard let token = try await ledger.authenticate(bearer.token, at: now()) else {
            throw APIError.unauthorized("the token is unknown, expired or revoked")
        }
        context.audit.authenticated(token)
        return token
    }
}
