import Foundation
import Hummingbird
import Logging
import WaterHubStorage

/// Writes every request to the audit log: time, token, town, endpoint (the route pattern, not
/// the query), status and rows returned. Never anything personal.
public struct AuditMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let ledger: Ledger
    let now: @Sendable () -> Date

    public init(ledger: Ledger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.now = now
    }

    public func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        let started = now()
        do {
            let response = try await next(request, context)
            await record(request, context: context, status: response.status.code, at: started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            await record(request, context: context, status: status, at: started)
            throw error
        }
    }

    private func record(_ request: Request, context: HubRequestContext, status: Int, at date: Date) async {
        let (tokenID, tenant, rows) = context.audit.snapshot
        let entry = AuditEntry(at: date, tokenID: tokenID, tenant: tenant, method: request.method.rawValue,
                               endpoint: context.endpointPath ?? "(no route)", status: status, rows: rows)
        do {
            try await ledger.recordAudit([entry])
        } catch {
            context.logger.error("cannot write the audit log: \(error)")
        }
    }
}
