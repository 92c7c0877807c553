import Hummingbird
import HummingbirdAuth
import Synchronization
import WaterHubStorage

/// The request context of every WaterHub route: the authenticated token, if any, and what the
/// audit log will say about the request.
public struct HubRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token that authenticated this request; handlers take the town from here, never from the path alone.
    public var identity: TokenInfo?
    /// Shared with the audit middleware, which records it after the response.
    public let audit = RequestAudit()

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// What the audit log records about one request, filled in along the way by the authenticator
/// and the handler (a reference, because the context is copied down the middleware chain).
public final class RequestAudit: Sendable {
    private struct State {
        var tokenID: String?
        var tenant: String?
        var rows = 0
        var recorded = false
    }

    private let state = Mutex(State())

    /// Notes the token that authenticated the request.
    public func authenticated(_ token: TokenInfo) {
        state.withLock {
            $0.tokenID = token.id
            $0.tenant = token.tenant
        }
    }

    /// Notes how many rows the answer holds.
    public func returned(rows: Int) {
        state.withLock { $0.rows += rows }
    }

    /// True the first time only: a request is written to the audit log once.
    func claimRecording() -> Bool {
        state.withLock { state in
            defer { state.recorded = true }
            return !state.recorded
        }
    }

    var snapshot: (tokenID: String?, tenant: String?, rows: Int) {
        state.withLock { ($0.tokenID, $0.tenant, $0.rows) }
    }
}

extension HubRequestContext {
    /// The token's own town; the tenant gate has checked it is the path's town.
    var ownTown: String {
        get throws {
            guard let town = identity?.tenant else { throw APIError.notFound }
            return town
        }
    }

    /// Refuses a valid token of this town that lacks the scope a route needs (403).
    func require(_ scope: TokenScope) throws {
        guard identity?.scope == scope else { throw APIError.forbidden(scope: scope.rawValue) }
    }
}
