import Foundation
import Hummingbird
import NIOCore
import WaterHubCore
import WaterHubStorage

extension TenantRoutes {
    /// The fields of a posted contact.
    static let contactFields = ["household", "date", "method", "outcome", "role", "next_step"]

    /// `POST /v1/tenants/{nis}/contacts` (scope `contacts`, header `Idempotency-Key`): records a
    /// contact attempt once. A retry with the same key and body gets the original answer and
    /// records nothing; the same key with another body gets 409.
    @Sendable func recordContact(_ request: Request, context: HubRequestContext) async throws -> Response {
        try context.require(.contacts)
        let database = try await ownDatabase(context)
        _ = try StrictQuery(request, allowed: [])
        guard let idempotencyKey = request.headers[.idempotencyKey] else {
            throw APIError.badHeader("Idempotency-Key", "required: a unique value per contact (a UUID), sent again unchanged on a retry")
        }
        guard (1...200).contains(idempotencyKey.utf8.count), idempotencyKey.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.badHeader("Idempotency-Key", "1 to 200 visible ASCII characters, such as a UUID")
        }
        if let contentType = request.headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw APIError.notJSON
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: settings.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: settings.maxBodyBytes)
        }
        let (contact, household) = try parseContact(body)
        let tokenID = context.identity?.id ?? ""
        switch try await database.record(contact, household: household, idempotencyKey: idempotencyKey, tokenID: tokenID, at: Date()) {
        case .recorded(let stored):
            context.audit.returned(rows: 1)
            return .json(ContactJSON.document(stored), status: .created)
        case .replayed(let stored):
            return .json(ContactJSON.document(stored), status: .created, headers: [.idempotentReplayed: "true"])
        case .keyReused:
            throw APIError.idempotencyKeyReused
        case .unknownHousehold:
            throw APIError.badField("household", "no household with this key in this town; use a key from GET cases")
        }
    }

    /// Reads and checks a posted contact; every problem names its field.
    func parseContact(_ body: ByteBuffer) throws -> (Contact, household: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] else {
            throw APIError.badBody("expected a JSON object with \(TenantRoutes.contactFields.joined(separator: ", "))")
        }
        if let unknown = object.keys.sorted().first(where: { !TenantRoutes.contactFields.contains($0) }) {
            throw APIError.badField(String(unknown.prefix(40)), "unknown; a contact has \(TenantRoutes.contactFields.joined(separator: ", "))")
        }
        func text(_ name: String, required: Bool = true) throws -> String? {
            switch object[name] {
            case let value as String: return value
            case nil where !required, is NSNull where !required: return nil
            case nil: throw APIError.badField(name, "required")
            default: throw APIError.badField(name, "must be a string")
            }
        }
        func code<Code: RawRepresentable & CaseIterable>(_ name: String, _ type: Code.Type) throws -> Code where Code.RawValue == String {
            guard let code = Code(rawValue: try text(name) ?? "") else {
                throw APIError.badField(name, "one of \(Code.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return code
        }
        let household = try text("household") ?? ""
        guard (1...64).contains(household.utf8.count) else {
            throw APIError.badField("household", "no household with this key in this town; use a key from GET cases")
        }
        guard let date = CalendarDate(iso: try text("date") ?? "") else { throw APIError.badField("date", "a date as YYYY-MM-DD") }
        let today = settings.today()
        guard date <= today, date >= today.adding(months: -120) else {
            throw APIError.badField("date", "the day of the attempt: not in the future, nor more than ten years ago")
        }
        let method = try code("method", ContactMethod.self)
        let outcome = try code("outcome", ContactOutcome.self)
        let role = try text("role") ?? ""
        guard settings.contactRoles.contains(role) else {
            throw APIError.badField("role", "a role, never a person's name: one of \(settings.contactRoles.joined(separator: ", "))")
        }
        let nextStep = try text("next_step", required: false)
        if let nextStep {
            guard nextStep.count <= 500, !nextStep.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
                throw APIError.badField("next_step", "at most 500 characters of text")
            }
        }
        return (Contact(date: date, method: method, outcome: outcome, role: role, nextStep: nextStep?.isEmpty == true ? nil : nextStep), household)
    }

    /// `GET /v1/tenants/{nis}/contacts?after=&limit=`: the contacts the town recorded, oldest first.
    @Sendable func contacts(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        let query = try StrictQuery(request, allowed: ["after", "limit"])
        let after = try query.cursor(in: .contacts)
        let limit = try query.limit(in: 1...1000) ?? 100
        let page = try await database.contacts(afterID: after, limit: limit)
        var json = JSONWriter()
        json.beginObject()
        json.key("contacts")
        json.beginArray()
        for stored in page { ContactJSON.write(stored, to: &json) }
        json.endArray()
        json.member("next", Cursor.encode(page.last?.id ?? after, in: .contacts))
        json.endObject()
        context.audit.returned(rows: page.count)
        return .json(json)
    }
}

/// How a contact looks in the API.
enum ContactJSON {
    static func write(_ stored: StoredContact, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.value(stored.id)
        json.member("household", stored.household)
        json.member("date", stored.contact.date.iso)
        json.member("method", stored.contact.method.rawValue)
        json.member("outcome", stored.contact.outcome.rawValue)
        json.member("role", stored.contact.role)
        json.key("next_step"); json.value(stored.contact.nextStep)
        json.member("recorded_at", stored.recordedAt.formatted(.iso8601))
        json.endObject()
    }

    static func document(_ stored: StoredContact) -> JSONWriter {
        var json = JSONWriter()
        write(stored, to: &json)
        return json
    }
}
