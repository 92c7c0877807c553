import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// A hub on the demo towns and feeds, with a token of every kind, for the API tests.
struct APIFixture: Sendable {
    /// The town whose tokens the tests use, and another one.
    static let town = "11002"
    static let otherTown = "44021"
    /// A Flemish town that is not a tenant, and a code that is no town at all.
    static let notATenant = "11001"
    static let noTown = "99999"

    let directory: TemporaryDirectory
    let hub: Hub
    /// The household keys of `town`.
    let householdKeys: [String]

    /// Opens the demo hub and ingests the demo feeds; `configure` changes the configuration first.
    static func demo(_ label: String, configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> APIFixture {
        let directory = TemporaryDirectory(label)
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configure(&configuration)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        _ = try await hub.fetchAll()
        let keys = try await hub.registry.database(town)!.cases(limit: 10_000).map(\.key)
        return APIFixture(directory: directory, hub: hub, householdKeys: keys)
    }

    func token(_ scope: TokenScope = .read, town: String? = APIFixture.town, expiresAt: Date? = nil) throws -> String {
        try hub.ledger.issueToken(tenant: scope == .stats ? nil : town, scope: scope, label: "test", expiresAt: expiresAt).token
    }

    /// A contact body for a household of `town`.
    func contactBody(household: String? = nil, date: String = "2026-11-20", method: String = "phone", outcome: String = "reached",
                     role: String = "social_worker") -> String {
        #"{"household":"\#(household ?? householdKeys[0])","date":"\#(date)","method":"\#(method)","outcome":"\#(outcome)","role":"\#(role)"}"#
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

/// What came back, with the body as text (compared, never printed: it may hold a town's data).
struct Answer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }

    /// The `error.message` of an error body.
    var message: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
}

extension TestClientProtocol {
    /// A request with an optional bearer token, headers and body.
    func send(_ uri: String, _ method: HTTPRequest.Method = .get, token: String? = nil, authorization: String? = nil,
              headers extra: HTTPFields = [:], body: String? = nil) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let authorization { headers[.authorization] = authorization }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Answer(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }
}
