import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import WaterHubApp
import WaterHubAPI
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport
import Yams

/// One operation of the OpenAPI document: the table the seal tests and the route check run over.
struct SpecOperation: CustomTestStringConvertible, Sendable {
    var path: String
    var method: HTTPRequest.Method
    /// `x-required-scope`; nil for the open routes (`/healthz`, `/openapi.yaml`).
    var scope: TokenScope?

    var testDescription: String { "\(method) \(path)" }

    /// Every operation of `Sources/WaterHubAPI/openapi.yaml`, as the hub serves it.
    static let all: [SpecOperation] = {
        let document = try! Yams.load(yaml: String(decoding: OpenAPIDocument.bytes, as: UTF8.self)) as! [String: Any]
        let paths = document["paths"] as! [String: Any]
        return paths.flatMap { path, item -> [SpecOperation] in
            (item as! [String: Any]).compactMap { name, operation in
                guard let method = HTTPRequest.Method(name.uppercased()), ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method.rawValue) else { return nil }
                let scope = ((operation as? [String: Any])?["x-required-scope"] as? String).flatMap(TokenScope.init(rawValue:))
                return SpecOperation(path: path, method: method, scope: scope)
            }
        }.sorted { ($0.path, $0.method.rawValue) < ($1.path, $1.method.rawValue) }
    }()

    /// The operations of one town, under `/v1/tenants/{nis}/`.
    static let townOperations = all.filter { $0.path.hasPrefix("/v1/tenants/{nis}/") }
}

/// Town A can never see a byte of town B: for every town route and method of the OpenAPI
/// document (so a new route cannot be forgotten), every kind of wrong token gets exactly the
/// status the issue names, and a body without any data.
@Suite struct SealTests {
    @Test func everyTownRouteDeclaresItsScope() {
        #expect(SpecOperation.townOperations.count >= 6)
        for operation in SpecOperation.townOperations {
            #expect(operation.scope != nil, "\(operation.testDescription) has no x-required-scope")
        }
    }

    @Test(arguments: SpecOperation.townOperations)
    func aTownRouteAnswersOnlyItsOwnTownsTokenWithTheRightScope(_ operation: SpecOperation) async throws {
        let fixture = try await APIFixture.demo("seal")
        let hub = fixture.hub
        let own = APIFixture.town
        let readToken = try fixture.token(.read)
        let contactsToken = try fixture.token(.contacts)
        let rightToken = operation.scope == .contacts ? contactsToken : readToken
        let otherTowns = hub.configuration.tenants.map(\.nisCode).filter { $0 != own } + [APIFixture.notATenant, APIFixture.noTown]
        let othersTokens = try otherTowns.prefix(2).flatMap { [try fixture.token(.read, town: $0), try fixture.token(.contacts, town: $0)] }
        let statsToken = try fixture.token(.stats)
        let (expired, _) = try hub.ledger.issueToken(tenant: own, scope: .contacts, expiresAt: Date().addingTimeInterval(-1))
        let (revoked, revokedInfo) = try hub.ledger.issueToken(tenant: own, scope: .contacts)
        try hub.ledger.revokeToken(id: revokedInfo.id)
        let tokenID = String(readToken.dropFirst(3).prefix(12))
        let badAuthorizations: [(String, String?)] = [
            ("missing", nil), ("basic", "Basic YTpi"), ("empty bearer", "Bearer "), ("not a token", "Bearer nonsense"),
            ("wrong secret", "Bearer wh_\(tokenID)_\(String(repeating: "A", count: 43))"), ("truncated", "Bearer \(readToken.dropLast())"),
            ("expired", "Bearer \(expired)"), ("revoked", "Bearer \(revoked)"),
        ]
        let key = fixture.householdKeys[0]
        @Sendable func uri(_ town: String) -> String {
            operation.path.replacingOccurrences(of: "{nis}", with: town).replacingOccurrences(of: "{key}", with: key)
                .replacingOccurrences(of: "{week}", with: "2026-W46")
        }
        /// Calls the operation; a POST carries a valid contact for `own` and a fresh idempotency key.
        @Sendable func call(_ client: some TestClientProtocol, _ town: String, authorization: String?) async throws -> Answer {
            guard operation.method == .post else { return try await client.send(uri(town), operation.method, authorization: authorization) }
            return try await client.send(uri(town), .post, authorization: authorization, headers: [.idempotencyKey: "seal-\(UUID().uuidString)"],
                                         body: fixture.contactBody())
        }
        /// No household key, no town code and no error detail beyond the fixed messages.
        @Sendable func holdsNoData(_ answer: Answer) -> Bool {
            !fixture.householdKeys.contains(where: answer.body.contains)
                && !hub.configuration.tenants.contains(where: { answer.body.contains($0.nisCode) })
                && answer.json.keys.sorted() == ["error"]
        }

        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            // The own town with the right scope answers: every refusal below is the seal's doing.
            let allowed = try await call(client, own, authorization: "Bearer \(rightToken)")
            #expect(allowed.status == (operation.method == .post ? .created : .ok), "\(operation.testDescription) for its own town")

            // Any other town, a tenant or not, existing or not: 404, the very same body.
            let reference = try await call(client, APIFixture.noTown, authorization: "Bearer \(rightToken)")
            #expect(reference.status == .notFound)
            let referenceIsClean = holdsNoData(reference)    // computed apart: a failing #expect must not print a body
            #expect(referenceIsClean)
            for town in otherTowns {
                for token in [readToken, contactsToken, statsToken] {
                    let answer = try await call(client, town, authorization: "Bearer \(token)")
                    let same = answer.status == .notFound && answer.body == reference.body
                    #expect(same, "a token of \(own) on \(town) must get the same 404 as a town that does not exist")
                }
            }
            // Other towns' tokens on this town: 404 too.
            for token in othersTokens {
                let answer = try await call(client, own, authorization: "Bearer \(token)")
                let same = answer.status == .notFound && answer.body == reference.body
                #expect(same, "another town's token on \(own)")
            }

            // A valid token of this town without the scope: 403 (a stats token has no town: 404).
            if operation.scope == .contacts {
                let answer = try await call(client, own, authorization: "Bearer \(readToken)")
                #expect(answer.status == .forbidden, "a read token on \(operation.testDescription)")
                let namesTheScope = holdsNoData(answer) && answer.message.contains("scope contacts")
                #expect(namesTheScope)
            }
            let stats = try await call(client, own, authorization: "Bearer \(statsToken)")
            let statsGetsTheSame404 = stats.status == .notFound && stats.body == reference.body
            #expect(statsGetsTheSame404, "a stats token on a town")

            // Missing, malformed, unknown, expired and revoked tokens: 401 with a challenge, whatever the town.
            for (kind, authorization) in badAuthorizations {
                for town in [own, APIFixture.otherTown, APIFixture.noTown] {
                    let answer = try await call(client, town, authorization: authorization)
                    #expect(answer.status == .unauthorized, "\(kind) token on \(town)")
                    #expect(answer.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(kind) token")
                    let clean = holdsNoData(answer)
                    #expect(clean, "\(kind) token")
                }
            }
        }

        // Only the one allowed POST recorded anything, and only in its own town.
        for tenant in hub.configuration.tenants {
            let count = try await hub.registry.database(tenant.nisCode)!.contactCount()
            #expect(count == (tenant.nisCode == own && operation.method == .post ? 1 : 0), "contacts in \(tenant.nisCode)")
        }
    }

    /// The document describes exactly the routes the hub serves, with the same methods.
    @Test func theOpenAPIDocumentDescribesExactlyTheRoutes() async throws {
        let directory = TemporaryDirectory("openapi")
        let hub = try makeHub(sources: [], directory: directory)
        let routes = Set(buildRouter(hub: hub).routes.map { "\($0.method) \($0.path)" })
        let described = Set(SpecOperation.all.map { "\($0.method) \($0.path.hasPrefix("/") ? $0.path : "/" + $0.path)" })
        let normalisedRoutes = Set(routes.map { $0.replacingOccurrences(of: " //", with: " /") })
        #expect(normalisedRoutes.subtracting(described).isEmpty, "routes missing from openapi.yaml: \(normalisedRoutes.subtracting(described).sorted())")
        #expect(described.subtracting(normalisedRoutes).isEmpty, "openapi.yaml describes routes the hub does not serve: \(described.subtracting(normalisedRoutes).sorted())")
        #expect(described.count >= 8)
    }

    /// `/openapi.yaml` is the file in the repository, byte for byte: one source of truth.
    @Test func theHubServesTheDocumentInTheRepository() async throws {
        let directory = TemporaryDirectory("openapi-served")
        let hub = try makeHub(sources: [], directory: directory)
        let file = try #require(FileManager.default.contents(atPath: "\(Repository.root)/Sources/WaterHubAPI/openapi.yaml"))
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            let answer = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType]?.hasPrefix("application/yaml") == true)
            #expect(Data(answer.body.readableBytesView) == file)
            let document = try #require(try Yams.load(yaml: String(buffer: answer.body)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
        }
    }
}
