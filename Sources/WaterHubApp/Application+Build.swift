import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging

import ServiceLifecycle
import WaterHubAPI
import WaterHubConfig
import WaterHubStorage

/// Builds the HTTP application around a hub: the one composition root, used by `waterhub serve`
/// and by the tests, so that what is tested is what runs.
///
/// - Parameters:
///   - hub: the opened hub (configuration, ledger, town registry).
///   - host, port: where to listen; default from the configuration.
///   - services: long-running services to run alongside the server (the feed scheduler).
/// - Throws: when `listen.tls_certificate` or `listen.tls_key` cannot be loaded.
public func buildApplication(hub: Hub, host: String? = nil, port: Int? = nil, services: [any Service] = [],
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    let router = buildRouter(hub: hub)
    var server: HTTPServerBuilder = .http1()
    if let tls = hub.configuration.tls {
        server = try .tls(.http1(), tlsConfiguration: try tlsConfiguration(tls))
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(host ?? hub.configuration.host, port: port ?? hub.configuration.port), serverName: "WaterHub"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: hub.logger
    )
}

/// The server side of TLS from the configured PEM files, with a message that names the file.
func tlsConfiguration(_ files: TLSFiles) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    do {
        chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
    } catch {
        throw CommandFailure("listen.tls_certificate: \(files.certificate) is not a PEM certificate chain (\(error))")
    }
    do {
        key = try NIOSSLPrivateKey(file: files.key, format: .pem)
    } catch {
        throw CommandFailure("listen.tls_key: \(files.key) is not a PEM private key (\(error))")
    }
    guard !chain.isEmpty else { throw CommandFailure("listen.tls_certificate: \(files.certificate) holds no certificate") }
    return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
}

/// The routes: `/healthz` and `/openapi.yaml` open to all; everything under `/v1` behind the
/// audit log, a token, the token's rate limit and the body limit.
func buildRouter(hub: Hub) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    router.get("healthz") { _, _ -> Response in
        // Always 200 while the hub is up; "degraded" names the sources that are overdue.
        let overdue = hub.overdueSources()
        var json = JSONWriter()
        json.beginObject()
        json.member("status", overdue.isEmpty ? "ok" : "degraded")
        if !overdue.isEmpty {
            json.key("overdue_sources")
            json.beginArray()
            for source in overdue { json.value(source) }
            json.endArray()
        }
        json.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: json.buffer))
    }
    OpenAPIDocument.add(to: router)
    let configuration = hub.configuration
    let api = router.group()
        .add(middleware: AuditMiddleware(log: hub.auditLog, now: hub.now))
        .add(middleware: TokenAuthenticator(ledger: hub.ledger, now: hub.now))
        .add(middleware: RateLimitMiddleware(limiter: RateLimiter(requestsPerMinute: configuration.api.requestsPerMinute), now: hub.now))
        .add(middleware: BodyLimitMiddleware(maxBodyBytes: configuration.api.maxBodyBytes))
    let settings = APISettings(aftercare: configuration.aftercare, contactRoles: configuration.contactRoles,
                               maxBodyBytes: configuration.api.maxBodyBytes, today: { hub.today })
    TenantRoutes(registry: hub.registry, settings: settings, pages: hub.pages).add(to: api)
    // The cell's statistics read only their own store; the dashboard authenticates itself
    // (a bearer header or its session cookie) and is audited like every route.
    StatisticsRoutes(store: hub.statistics).add(to: api)
    let dashboard = router.group()
        .add(middleware: AuditMiddleware(log: hub.auditLog, now: hub.now))
        .add(middleware: BodyLimitMiddleware(maxBodyBytes: configuration.api.maxBodyBytes))
    DashboardRoutes(store: hub.statistics, ledger: hub.ledger, maxFormBytes: configuration.api.maxBodyBytes, today: { hub.today }, now: hub.now)
        .add(to: dashboard)
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))    // last: sees only what no route took
    return router
}
