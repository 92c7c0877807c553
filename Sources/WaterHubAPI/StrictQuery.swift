import Foundation
import HTTPTypes
import Hummingbird
import WaterHubCore

extension HTTPField.Name {
    /// `Link` (RFC 8288): where the next page is.
    static let link = HTTPField.Name("Link")!
    /// `Idempotency-Key`: makes a retried POST record nothing new.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// `Idempotent-Replayed: true` on the original answer given again to a retry.
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// The query string of one request, read strictly: a parameter the endpoint does not take, one
/// given twice, or a value of the wrong shape is a 400 that names it, never silently ignored.
struct StrictQuery {
    private var values: [String: String] = [:]

    /// Reads the query; `allowed` are the parameters this endpoint takes.
    init(_ request: Request, allowed: [String]) throws {
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let takes = allowed.isEmpty ? "this endpoint takes no parameters" : "this endpoint takes \(allowed.joined(separator: ", "))"
                throw APIError.badParameter(String(name.prefix(40)), "unknown; \(takes)")
            }
            guard values[name] == nil else { throw APIError.badParameter(name, "given twice; give it once") }
            values[name] = String(value)
        }
    }

    /// The raw text of a parameter, if given.
    subscript(name: String) -> String? { values[name] }

    /// The position after which a list continues (`after`), 0 when not given.
    func cursor(in list: Cursor.List) throws -> Int64 {
        guard let text = values["after"] else { return 0 }
        guard let position = Cursor.decode(text, in: list) else {
            throw APIError.badParameter("after", "not a cursor this hub handed out for this list; use the `next` value of a previous page, or leave it out to start")
        }
        return position
    }

    /// `limit`, a whole number in `range`, or nil when not given.
    func limit(in range: ClosedRange<Int>) throws -> Int? {
        guard let text = values["limit"] else { return nil }
        guard text.utf8.count <= 6, let value = Int(text), range.contains(value) else {
            throw APIError.badParameter("limit", "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A day as `YYYY-MM-DD`, or nil when not given.
    func date(_ name: String) throws -> CalendarDate? {
        guard let text = values[name] else { return nil }
        guard let date = CalendarDate(iso: text) else { throw APIError.badParameter(name, "a date as YYYY-MM-DD, such as 2026-11-16") }
        return date
    }

    /// One value or a comma-separated list of values of a canonical code list, or nil when not given.
    func codes<Code: RawRepresentable & CaseIterable>(_ name: String, of type: Code.Type) throws -> Set<Code>? where Code.RawValue == String {
        guard let text = values[name] else { return nil }
        var result = Set<Code>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let code = Code(rawValue: String(part)) else {
                throw APIError.badParameter(name, "one or a comma-separated list of \(Code.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            result.insert(code)
        }
        return result
    }

    /// One of a fixed set of words, or nil when not given.
    func choice(_ name: String, _ options: [String]) throws -> String? {
        guard let text = values[name] else { return nil }
        guard options.contains(text) else { throw APIError.badParameter(name, "one of \(options.joined(separator: ", "))") }
        return text
    }
}

/// The representations an endpoint can answer in, chosen by `format=` or else by `Accept`.
enum Representation: String, CaseIterable {
    case json
    case csv
    case ndjson
    case html

    var mediaType: String {
        switch self {
        case .json: "application/json"
        case .csv: "text/csv"
        case .ndjson: "application/x-ndjson"
        case .html: "text/html"
        }
    }

    /// `format=` wins; else the first media type in `Accept` that is offered; else JSON.
    static func negotiate(_ query: StrictQuery, _ request: Request, offered: [Representation]) throws -> Representation {
        if let format = try query.choice("format", offered.map(\.rawValue)) { return Representation(rawValue: format)! }
        let accepted = (request.headers[.accept] ?? "").split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
        for mediaType in accepted {
            if let match = offered.first(where: { $0.mediaType == mediaType }) { return match }
        }
        return .json
    }
}
