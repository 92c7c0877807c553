import Foundation
import Hummingbird
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
public func buildApplication(hub: Hub, host: String? = nil, port: Int? = nil, services: [any Service] = [],
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = buildRouter(hub: hub)
    return Application(
        router: router,
        configuration: .init(address: .hostname(host ?? hub.configuration.host, port: port ?? hub.configuration.port), serverName: "WaterHub"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: hub.logger
    )
}

/// The routes: `/healthz` open to all, everything under `/v1` behind the audit log and a token.
func buildRouter(hub: Hub) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    router.get("healthz") { _, _ -> Response in
        // Always 200 while the hub is up; "degraded" names the sources that are overdue.
        let overdue = hub.overdueSources()
        var json = JSONWriter(buffer: ByteBuffer())
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
    let api = router.group()
        .add(middleware: AuditMiddleware(ledger: hub.ledger, now: hub.now))
        .add(middleware: TokenAuthenticator(ledger: hub.ledger, now: hub.now))
    TenantRoutes(registry: hub.registry).add(to: api)
    return router
}
