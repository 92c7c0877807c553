import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage
import WaterHubTestSupport

/// A feed in the canonical dialect, for tests that need exact control over the rows.
struct CanonicalFeed {
    var rows: [[EventField: String]] = []

    mutating func add(_ id: String, _ type: EventType = .warningLetter, date: String = "2026-11-16", customer: String = "C1",
                      postalCode: String = "2000", nis: String = "", name: String = "An Voorbeeld", street: String = "Kerkstraat",
                      amount: String = "10.00") {
        rows.append([.sourceEventID: id, .type: type.rawValue, .eventDate: date, .customerNumber: customer, .postalCode: postalCode,
                     .nisCode: nis, .name: name, .street: street, .amountDue: amount])
    }

    var bytes: [UInt8] {
        var text = EventField.allCases.map(\.rawValue).joined(separator: ",") + "\r\n"
        func quoted(_ value: String) -> String {
            value.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
        }
        for row in rows { text += EventField.allCases.map { quoted(row[$0] ?? "") }.joined(separator: ",") + "\r\n" }
        return Array(text.utf8)
    }
}

/// Opens a hub on a fresh data directory with the demo towns and the given sources.
func makeHub(sources: [SourceConfiguration], directory: TemporaryDirectory, now: @escaping @Sendable () -> Date = { Date() }) throws -> Hub {
    var configuration = try ConfigurationLoader.load(directory: Repository.config)
    configuration.sources = sources
    return try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, now: now, retryBaseDelay: .milliseconds(5))
}

/// Tests log only warnings and errors (which never hold personal data either).
let quietLogger: Logger = {
    var logger = Logger(label: "waterhub-test")
    logger.logLevel = .warning
    return logger
}()

func canonicalSource(id: String = "testwater", url: String) -> SourceConfiguration {
    var source = SourceConfiguration(id: id, name: "Test Water", url: url, dialect: .canonical,
                                     schedule: .weekly(weekday: 1, hour: 6, minute: 0), file: "test")
    source.fetch.retries = 1
    return source
}

extension TestClientProtocol {
    /// GET with a bearer token; returns the status and the body as JSON.
    func get(_ uri: String, token: String?) async throws -> (HTTPResponse.Status, [String: Any]) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await execute(uri: uri, method: .get, headers: headers)
        let body = Data(String(buffer: response.body).utf8)
        let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        return (response.status, json)
    }
}

@Suite struct EndToEndTests {
    @Test func fetchOverHTTPThroughLibcurlAndPullBackThroughTheAPI() async throws {
        let directory = TemporaryDirectory("e2e")
        let server = FeedServer()
        var feed = CanonicalFeed()
        feed.add("E1", .lacRequest, customer: "C1", postalCode: "2000")
        feed.add("E2", .disconnection, customer: "C2", postalCode: "9000", nis: "44021")
        feed.add("E3", .flowLimitation, customer: "C3", postalCode: "9120", nis: "46003")    // Beveren before the merger
        feed.add("E4", .reconnection, customer: "C4", postalCode: "2630")                    // Aartselaar: not a tenant
        feed.add("E5", .warningLetter, customer: "C5", postalCode: "9999")                   // no such postal code
        feed.add("E6", .warningLetter, customer: "C1", postalCode: "2000")
        server.publish("week47.csv", feed.bytes)

        try await server.run { base in
            let hub = try makeHub(sources: [canonicalSource(url: "\(base)/week47.csv")], directory: directory)
            let reports = try await hub.fetchAll()
            guard case .ingested(_, let counts, let perTenant) = reports.first?.outcome else {
                Issue.record("expected an ingested batch, got \(reports)"); return
            }
            #expect(counts == BatchCounts(rowsIn: 6, routed: 4, outsideRegion: 1, quarantined: 1))
            #expect(perTenant == ["11002": 2, "44021": 1, "46030": 1])

            // The same file again: the server answers 304 to the conditional request.
            let again = try await hub.fetchAll()
            guard case .notModified = again.first?.outcome else { Issue.record("expected 304, got \(again)"); return }
            #expect(server.log == ["week47.csv 200", "week47.csv 304"])

            let (antwerpen, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
            let (beveren, _) = try hub.ledger.issueToken(tenant: "46030", scope: .read)
            let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in
                let (status, page) = try await client.get("/v1/tenants/11002/events", token: antwerpen)
                #expect(status == .ok)
                let events = try #require(page["events"] as? [[String: Any]])
                #expect(events.map { $0["source_event_id"] as? String } == ["E1", "E6"])
                #expect(events.first?["household"] as? String == events.last?["household"] as? String)
                #expect((events.first?["provenance"] as? [String: Any])?["line"] as? Int == 2)

                let (_, merged) = try await client.get("/v1/tenants/46030/events", token: beveren)
                let mergedEvents = try #require(merged["events"] as? [[String: Any]])
                #expect(mergedEvents.map { $0["source_event_id"] as? String } == ["E3"])
                #expect(mergedEvents.first?["nis_code"] as? String == "46003")
            }
        }
    }

    @Test func followingNextReturnsEveryEventOnceAndThenOnlyWhatIsNew() async throws {
        let directory = TemporaryDirectory("cursor")
        let server = FeedServer()
        var week1 = CanonicalFeed()
        for index in 1...25 { week1.add("A\(index)", customer: "C\(index % 7)") }
        server.publish("feed.csv", week1.bytes)
        try await server.run { base in
            let hub = try makeHub(sources: [canonicalSource(url: "\(base)/feed.csv")], directory: directory)
            _ = try await hub.fetchAll()
            let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
            let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in
                var seen: [String] = []
                var cursor: String?
                var pages = 0
                while pages < 20 {
                    pages += 1
                    let uri = "/v1/tenants/11002/events?limit=10" + (cursor.map { "&after=\($0)" } ?? "")
                    let (status, page) = try await client.get(uri, token: token)
                    #expect(status == .ok)
                    let events = try #require(page["events"] as? [[String: Any]])
                    cursor = try #require(page["next"] as? String)
                    if events.isEmpty { break }
                    seen += events.compactMap { $0["source_event_id"] as? String }
                }
                #expect(seen == (1...25).map { "A\($0)" })
                #expect(pages == 4)

                // A new week arrives: a correction of A3, a new event, and a repeat of A1.
                var week2 = CanonicalFeed()
                week2.add("A3", customer: "C3", amount: "99.00")
                week2.add("B1", customer: "C9")
                week2.add("A1", customer: "C1")
                server.publish("feed.csv", week2.bytes)
                _ = try await hub.fetchAll()
                let (_, later) = try await client.get("/v1/tenants/11002/events?after=\(cursor!)", token: token)
                let fresh = try #require(later["events"] as? [[String: Any]])
                #expect(fresh.map { $0["source_event_id"] as? String } == ["A3", "B1"])
                #expect(fresh.first?["version"] as? Int == 2)
                #expect(fresh.first?["amount_due_cents"] as? Int == 9900)
            }
        }
    }

    @Test func theDemoFeedsIngestFromFileURLs() async throws {
        let directory = TemporaryDirectory("demo")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        let reports = try await hub.fetchAll()
        #expect(reports.count == 4)
        #expect(reports.allSatisfy { !$0.needsAttention })
        var towns = Set<String>()
        for report in reports {
            guard case .ingested(_, let counts, let perTenant) = report.outcome else { Issue.record("\(report.summary)"); continue }
            #expect(counts.balances)
            towns.formUnion(perTenant.keys)
        }
        #expect(towns == Set(configuration.tenants.map(\.nisCode)))
        let again = try await hub.fetchAll()
        #expect(again.allSatisfy { if case .duplicate = $0.outcome { true } else { false } })
    }
}

@Suite struct IsolationTests {
    /// Every demo town's token, against every other town (and a town that is not a tenant):
    /// the answer is 404 with no data, exactly as for a town that does not exist.
    @Test func aTownsTokenCannotReadAnyOtherTown() async throws {
        let directory = TemporaryDirectory("isolation")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger)
        _ = try await hub.fetchAll()
        var issued: [String: String] = [:]
        for tenant in configuration.tenants {
            issued[tenant.nisCode] = try hub.ledger.issueToken(tenant: tenant.nisCode, scope: .read).token
        }
        let tokens = issued
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            let nonexistent = try await client.execute(uri: "/v1/tenants/11001/events", method: .get,
                                                       headers: [.authorization: "Bearer \(tokens["11002"]!)"])
            let referenceBody = String(buffer: nonexistent.body)
            #expect(nonexistent.status == .notFound)
            for (own, token) in tokens {
                let (status, page) = try await client.get("/v1/tenants/\(own)/events", token: token)
                #expect(status == .ok)
                #expect((page["events"] as? [Any])?.isEmpty == false)
                for other in configuration.tenants.map(\.nisCode) where other != own {
                    let response = try await client.execute(uri: "/v1/tenants/\(other)/events", method: .get,
                                                            headers: [.authorization: "Bearer \(token)"])
                    // Compared without printing: a failure must not dump a town's data into the test log.
                    let sameAsNonexistent = String(buffer: response.body) == referenceBody
                    #expect(response.status == .notFound, "token of \(own) on \(other)")
                    #expect(sameAsNonexistent, "token of \(own) on \(other) got another answer than for a town that does not exist")
                }
            }
        }
    }

    @Test func missingAndWrongTokensGet401WithAChallenge() async throws {
        let directory = TemporaryDirectory("auth")
        let hub = try makeHub(sources: [], directory: directory)
        let (token, info) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            for header in [nil, "Basic YTpi", "Bearer nonsense", "Bearer \(token)x", "Bearer wh_\(info.id)_\(String(repeating: "A", count: 43))"] {
                var headers = HTTPFields()
                if let header { headers[.authorization] = header }
                let response = try await client.execute(uri: "/v1/tenants/11002/events", method: .get, headers: headers)
                #expect(response.status == .unauthorized, "\(header ?? "no header")")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(!String(buffer: response.body).contains("11002"))
            }
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func badParametersAreNamed() async throws {
        let directory = TemporaryDirectory("params")
        let hub = try makeHub(sources: [], directory: directory)
        let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            for (query, name) in [("limit=0", "limit"), ("limit=abc", "limit"), ("limit=10001", "limit"), ("after=xyz", "after"), ("after=ZTEuLTE", "after")] {
                let response = try await client.execute(uri: "/v1/tenants/11002/events?\(query)", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .badRequest, "\(query)")
                #expect(String(buffer: response.body).contains("parameter \(name)"), "\(query)")
            }
        }
    }

    @Test func everyRequestIsAudited() async throws {
        let directory = TemporaryDirectory("audit")
        let hub = try makeHub(sources: [], directory: directory)
        let (token, info) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            _ = try await client.get("/v1/tenants/11002/events", token: token)
            _ = try await client.get("/v1/tenants/44021/events", token: token)
            _ = try await client.get("/v1/tenants/11002/events", token: nil)
        }
        let entries = try hub.ledger.audit()
        #expect(entries.map(\.status) == [200, 404, 401])
        #expect(entries.map(\.tokenID) == [info.id, info.id, nil])
        #expect(entries.first?.endpoint == "/v1/tenants/{nis}/events")
    }
}
