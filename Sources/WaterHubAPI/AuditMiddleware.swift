import Foundation
import Hummingbird
import Logging
import WaterHubStorage

/// Writes every request to the audit log: time, token, town, endpoint (the route pattern, not
/// the query), status and rows returned. Never anything personal.
public struct AuditMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let log: AuditLog
    let now: @Sendable () -> Date

    public init(log: AuditLog, now: @escaping @Sendable () -> Date = { Date() }) {
        self.log = log
        self.now = now
    }

    public func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        let started = now()
        do {
            var response = try await next(request, context)
            // A streamed answer counts its rows while it is written: record it just before its
            // last bytes go out, with the rows it really held.
            let body = response.body, status = response.status.code
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                do {
                    try await body.write(AuditedBodyWriter(parent: writer) {
                        await record(request, context: context, status: status, at: started)
                    })
                } catch {
                    await record(request, context: context, status: status, at: started)    // the client left midway
                    throw error
                }
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            await record(request, context: context, status: status, at: started)
            throw error
        }
    }

    /// Writes the request's line, once.
    private func record(_ request: Request, context: HubRequestContext, status: Int, at date: Date) async {
        guard context.audit.claimRecording() else { return }
        let (tokenID, tenant, rows) = context.audit.snapshot
        let entry = AuditEntry(at: date, tokenID: tokenID, tenant: tenant, method: request.method.rawValue,
                               endpoint: context.endpointPath ?? "(no route)", status: status, rows: rows)
        let failedBefore = await log.failedWrites
        await log.record(entry)
        if await log.failedWrites > failedBefore { context.logger.error("cannot write the audit log") }
    }
}

/// Passes a body through and runs `beforeFinish` before it ends it.
struct AuditedBodyWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    let beforeFinish: @Sendable () async -> Void

    init(parent: any ResponseBodyWriter, beforeFinish: @escaping @Sendable () async -> Void) {
        self.parent = parent
        self.beforeFinish = beforeFinish
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        try await parent.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        await beforeFinish()
        try await parent.finish(trailingHeaders)
    }
}
