import Foundation
import Hummingbird
import HummingbirdAuth
import WaterHubCore
import WaterHubStorage

/// The routes under `/v1/tenants/{nis}/`: a town's own slice, for that town's token only.
public struct TenantRoutes: Sendable {
    let registry: TenantRegistry

    public init(registry: TenantRegistry) {
        self.registry = registry
    }

    /// Adds the routes to a group that already authenticates.
    public func add(to group: RouterGroup<HubRequestContext>) {
        group.group("v1/tenants/{nis}")
            .add(middleware: TenantGate(registry: registry))
            .get("events", use: events)
    }

    /// `GET /v1/tenants/{nis}/events?after=CURSOR&limit=N`: the town's events in the order the
    /// hub stored them, each version of a corrected event in its own place.
    @Sendable func events(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        let query = request.uri.queryParameters
        let after: Int64 = try query.get("after").map { text in
            guard let seq = Cursor.decode(String(text)) else {
                throw APIError.badParameter("after", "not a cursor this hub handed out; use the `next` value of a previous page, or leave it out to start")
            }
            return seq
        } ?? 0
        let limit = try query.get("limit").map { text in
            guard let value = Int(String(text)), (1...1000).contains(value) else {
                throw APIError.badParameter("limit", "a whole number from 1 to 1000")
            }
            return value
        } ?? 100
        let page = try await database.events(after: after, limit: limit)
        let next = page.last?.seq ?? after
        var json = JSONWriter(buffer: ByteBuffer())
        json.beginObject()
        json.key("events")
        json.beginArray()
        for stored in page { EventJSON.write(stored, to: &json) }
        json.endArray()
        json.member("next", Cursor.encode(next))
        json.endObject()
        context.audit.returned(rows: page.count)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: json.buffer))
    }

    /// The database of the town the token belongs to (the gate has checked it is the path's town).
    private func ownDatabase(_ context: HubRequestContext) async throws -> TenantDatabase {
        guard let nisCode = context.identity?.tenant, let database = try await registry.database(nisCode) else {
            throw APIError.notFound
        }
        return database
    }
}

/// Lets a request through to `/v1/tenants/{nis}/…` only when the token is that town's own.
///
/// Any other town gives 404, exactly as a town that does not exist: a token learns nothing
/// about which towns exist.
struct TenantGate: RouterMiddleware {
    typealias Context = HubRequestContext
    let registry: TenantRegistry

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        guard let token = context.identity, let own = token.tenant, context.parameters.get("nis") == own,
              registry.tenant(own) != nil else {
            throw APIError.notFound
        }
        guard token.scope == .read || token.scope == .contacts else { throw APIError.forbidden(scope: "read") }
        return try await next(request, context)
    }
}

/// How an event looks in the API: canonical field names, amounts in cents, provenance.
enum EventJSON {
    static func write(_ stored: StoredEvent, to json: inout JSONWriter) {
        let event = stored.event
        json.beginObject()
        json.key("seq"); json.value(stored.seq)
        json.member("source", event.source)
        json.member("source_event_id", event.sourceEventID)
        json.key("version"); json.value(stored.version)
        json.key("current"); json.value(stored.isCurrent)
        json.member("type", event.type.rawValue)
        json.member("event_date", event.eventDate.iso)
        json.member("household", stored.household)
        json.member("customer_number", event.customerNumber)
        json.member("connection_id", event.connectionID)
        json.member("name", event.name)
        json.member("street", event.street)
        json.member("house_number", event.houseNumber)
        json.member("box", event.box)
        json.member("postal_code", event.postalCode)
        json.member("municipality", event.municipality)
        json.member("nis_code", event.nisCode)
        json.member("phone", event.phone)
        json.member("email", event.email)
        json.key("amount_due_cents"); json.value(event.amountDueCents)
        json.member("protected_customer", event.protectedCustomer.rawValue)
        json.member("note", event.note)
        json.key("provenance")
        json.beginObject()
        json.key("batch"); json.value(stored.provenance.batchID)
        json.member("file_sha256", stored.provenance.fileSHA256)
        json.key("line"); json.value(stored.provenance.line)
        json.endObject()
        json.endObject()
    }
}
