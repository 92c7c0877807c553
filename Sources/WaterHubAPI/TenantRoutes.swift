import Foundation
import Hummingbird
import HummingbirdAuth
import WaterHubCore
import WaterHubStorage

/// What the town routes need besides the town files: the follow-up rules, the accepted roles,
/// the body limit, and the day it is (injectable for tests).
public struct APISettings: Sendable {
    public var aftercare: AftercareRules
    /// The role codes a contact may name (`contacts.roles`).
    public var contactRoles: [String]
    /// `api.max_body_bytes`.
    public var maxBodyBytes: Int
    /// Today in Brussels.
    public var today: @Sendable () -> CalendarDate

    public init(aftercare: AftercareRules = AftercareRules(), contactRoles: [String] = ContactRole.defaults,
                maxBodyBytes: Int = 64 * 1024, today: @escaping @Sendable () -> CalendarDate) {
        self.aftercare = aftercare
        self.contactRoles = contactRoles
        self.maxBodyBytes = maxBodyBytes
        self.today = today
    }
}

/// The routes under `/v1/tenants/{nis}/`: a town's own slice, for that town's token only.
public struct TenantRoutes: Sendable {
    let registry: TenantRegistry
    let settings: APISettings
    /// Event pages served lately, while their town file is unchanged.
    let pages: PageCache

    /// The rows read from a town file at a time while an answer streams.
    static let batchSize = 500

    public init(registry: TenantRegistry, settings: APISettings, pages: PageCache) {
        self.registry = registry
        self.settings = settings
        self.pages = pages
    }

    /// Adds the routes to a group that already authenticates.
    public func add(to group: RouterGroup<HubRequestContext>) {
        let town = group.group("v1/tenants/{nis}").add(middleware: TenantGate(registry: registry))
        town.get("events", use: events)
        town.get("cases", use: cases)
        town.get("cases/{key}/events", use: householdEvents)
        town.get("reports/weekly/{week}", use: weeklyReport)
        town.get("contacts", use: contacts)
        town.post("contacts", use: recordContact)
    }

    /// The database of the token's own town.
    func ownDatabase(_ context: HubRequestContext) async throws -> TenantDatabase {
        guard let database = try await registry.database(try context.ownTown) else { throw APIError.notFound }
        return database
    }

    // MARK: events

    /// `GET /v1/tenants/{nis}/events?after=&limit=&type=&since=&until=&format=`: the town's
    /// events in the order the hub stored them, each version of a corrected event in its own
    /// place. The answer streams in keyset-paginated batches, so an export of any size keeps
    /// memory flat; its end (the next cursor) is fixed before the first row is sent.
    @Sendable func events(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        let query = try StrictQuery(request, allowed: ["after", "limit", "type", "since", "until", "format"])
        let after = try query.cursor(in: .events)
        let representation = try Representation.negotiate(query, request, offered: [.json, .csv, .ndjson])
        let limit = try query.limit(in: 1...10_000) ?? (representation == .json ? 100 : nil)
        let filter = EventFilter(types: try query.codes("type", of: EventType.self), since: try query.date("since"), until: try query.date("until"))
        if let since = filter.since, let until = filter.until, until < since {
            throw APIError.badParameter("until", "on or after since")
        }
        let town = try context.ownTown
        let audit = context.audit
        // A page of a usual size is read at once, with its end, in one snapshot (or served from
        // memory while the town file is unchanged); a larger answer (an export) streams in
        // batches after its end is fixed.
        if let limit, limit <= TenantRoutes.batchSize {
            let key = PageCache.Key(town: town, representation: representation.rawValue, query: request.uri.query ?? "")
            let version = database.dataVersion()
            if let version, let cached = pages.answer(key, at: version) {
                audit.returned(rows: cached.rows)
                return Response(status: .ok, headers: cached.headers, body: .init(byteBuffer: cached.body))
            }
            let (events, end) = try await database.page(after: after, matching: filter, limit: limit)
            let next = Cursor.encode(end)
            var encoder = EventEncoder(representation)
            for stored in events { encoder.add(stored) }
            encoder.end(next: next)
            let answer = PageCache.Answer(headers: eventHeaders(town: town, next: next, query: query, filter: filter, representation: representation),
                                          body: encoder.takeBytes(), rows: events.count)
            if let version { pages.store(answer, for: key, at: version) }
            audit.returned(rows: answer.rows)
            return Response(status: .ok, headers: answer.headers, body: .init(byteBuffer: answer.body))
        }
        let end = try await database.pullEnd(after: after, matching: filter, limit: limit)
        let next = Cursor.encode(end)
        let headers = eventHeaders(town: town, next: next, query: query, filter: filter, representation: representation)
        let body = ResponseBody { writer in
            var encoder = EventEncoder(representation)
            var position = after
            while true {
                let page = try await database.events(after: position, through: end, matching: filter, limit: TenantRoutes.batchSize)
                for stored in page { encoder.add(stored) }
                audit.returned(rows: page.count)
                try await writer.write(encoder.takeBytes())
                guard page.count == TenantRoutes.batchSize, let last = page.last else { break }
                position = last.seq
            }
            encoder.end(next: next)
            try await writer.write(encoder.takeBytes())
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The headers of an events answer: its media type (and file name for CSV), and the `Link`
    /// to the next page, repeating the query's own limit, filter and format.
    private func eventHeaders(town: String, next: String, query: StrictQuery, filter: EventFilter, representation: Representation) -> HTTPFields {
        var link = "/v1/tenants/\(town)/events?after=\(next)"
        if let text = query["limit"] { link += "&limit=\(text)" }
        if let types = filter.types { link += "&type=\(types.map(\.rawValue).sorted().joined(separator: ","))" }
        if let since = filter.since { link += "&since=\(since.iso)" }
        if let until = filter.until { link += "&until=\(until.iso)" }
        if let format = query["format"] { link += "&format=\(format)" }
        var headers: HTTPFields = [.link: "<\(link)>; rel=\"next\""]
        switch representation {
        case .csv:
            headers[.contentType] = "text/csv; charset=utf-8; header=present"
            headers[.contentDisposition] = "attachment; filename=\"\(town)-events.csv\""
        case .ndjson: headers[.contentType] = "application/x-ndjson"
        default: headers[.contentType] = "application/json; charset=utf-8"
        }
        return headers
    }

    /// `GET /v1/tenants/{nis}/cases/{key}/events`: one household's history, every version, with
    /// each event's provenance; 404 when the key is not a household of this town.
    @Sendable func householdEvents(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        _ = try StrictQuery(request, allowed: [])
        let key = try context.parameters.require("key")
        guard let history = try await database.events(ofHousehold: key) else {
            throw APIError.unknownHousehold
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("household", key)
        json.key("events")
        json.beginArray()
        for stored in history { EventJSON.write(stored, to: &json) }
        json.endArray()
        json.endObject()
        context.audit.returned(rows: history.count)
        return .json(json)
    }
}

extension Response {
    /// A CSV answer to save as `filename`.
    static func csv(_ body: ByteBuffer, filename: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8; header=present",
                                        .contentDisposition: "attachment; filename=\"\(filename)\""],
                 body: .init(byteBuffer: body))
    }

    /// A JSON answer from a writer.
    static func json(_ json: JSONWriter, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: json.buffer))
    }
}

/// Lets a request through to `/v1/tenants/{nis}/…` only when the token is that town's own.
///
/// Any other town gives 404, exactly as a town that does not exist: a token learns nothing
/// about which towns exist. A statistics token belongs to no town, so every town is 404 to it.
struct TenantGate: RouterMiddleware {
    typealias Context = HubRequestContext
    let registry: TenantRegistry

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        guard let token = context.identity, let own = token.tenant, context.parameters.get("nis") == own,
              registry.tenant(own) != nil, token.scope == .read || token.scope == .contacts else {
            throw APIError.notFound
        }
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

/// Encodes a stream of events in one representation, a batch at a time: the bytes of each batch
/// are taken out and sent before the next batch is read, so memory holds one batch at most.
struct EventEncoder {
    let representation: Representation
    private var json = JSONWriter()
    private var csv = CSVWriter(buffer: ByteBuffer())

    init(_ representation: Representation) {
        self.representation = representation
        switch representation {
        case .csv:
            csv.begin(header: EventCSV.header)
        case .ndjson:
            break
        default:
            json.beginObject()
            json.key("events")
            json.beginArray()
        }
    }

    mutating func add(_ stored: StoredEvent) {
        switch representation {
        case .csv:
            EventCSV.write(stored, to: &csv)
        case .ndjson:
            json.startNewDocument()
            EventJSON.write(stored, to: &json)
            json.newline()
        default:
            EventJSON.write(stored, to: &json)
        }
    }

    /// Closes a JSON page with its `next` cursor; CSV and NDJSON need no end.
    mutating func end(next: String) {
        guard representation != .csv, representation != .ndjson else { return }
        json.endArray()
        json.member("next", next)
        json.endObject()
    }

    /// The bytes encoded since the last call.
    mutating func takeBytes() -> ByteBuffer {
        if representation == .csv {
            defer { csv.buffer = ByteBuffer() }
            return csv.buffer
        }
        return json.takeBuffer()
    }
}

/// How an event looks in a CSV export: the JSON's fields, flat, amounts in euro with a decimal comma.
enum EventCSV {
    static let header = ["seq", "source", "source_event_id", "version", "current", "type", "event_date", "household",
                         "customer_number", "connection_id", "name", "street", "house_number", "box", "postal_code",
                         "municipality", "nis_code", "phone", "email", "amount_due_eur", "protected_customer", "note",
                         "batch", "file_sha256", "line"]

    static func write(_ stored: StoredEvent, to csv: inout CSVWriter) {
        let event = stored.event
        csv.field(stored.seq)
        csv.field(event.source)
        csv.field(event.sourceEventID)
        csv.field(Int64(stored.version))
        csv.field(stored.isCurrent ? "true" : "false")
        csv.field(event.type.rawValue)
        csv.field(event.eventDate.iso)
        csv.field(stored.household)
        csv.field(event.customerNumber)
        csv.field(event.connectionID)
        csv.field(event.name)
        csv.field(event.street)
        csv.field(event.houseNumber)
        csv.field(event.box)
        csv.field(event.postalCode)
        csv.field(event.municipality)
        csv.field(event.nisCode)
        csv.field(event.phone)
        csv.field(event.email)
        csv.field(EuroAmount.text(event.amountDueCents))
        csv.field(event.protectedCustomer.rawValue)
        csv.field(event.note)
        csv.field(stored.provenance.batchID)
        csv.field(stored.provenance.fileSHA256)
        csv.field(Int64(stored.provenance.line))
        csv.endRow()
    }
}
