import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WaterHubAPI
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// Cases and their follow-up, households' histories, contacts, the weekly report, and the limits.
@Suite struct TownAPITests {
    @Test func aRetriedContactIsRecordedOnceAndAReusedKeyIsRefused() async throws {
        let fixture = try await APIFixture.demo("contacts")
        let token = try fixture.token(.contacts)
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let uri = "/v1/tenants/11002/contacts"
            let first = try await client.send(uri, .post, token: token, headers: [.idempotencyKey: "visit-1"], body: fixture.contactBody())
            #expect(first.status == .created)
            #expect(first.json["method"] as? String == "phone")
            #expect(first.json["household"] as? String == fixture.householdKeys[0])
            let retry = try await client.send(uri, .post, token: token, headers: [.idempotencyKey: "visit-1"], body: fixture.contactBody())
            #expect(retry.status == .created)
            let sameAnswer = retry.body == first.body
            #expect(sameAnswer, "a retry gets the original answer")
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let reused = try await client.send(uri, .post, token: token, headers: [.idempotencyKey: "visit-1"], body: fixture.contactBody(outcome: "refused"))
            #expect(reused.status == .conflict)
            #expect(reused.message.hasPrefix("header Idempotency-Key:"))
            let missingKey = try await client.send(uri, .post, token: token, body: fixture.contactBody())
            #expect(missingKey.status == .badRequest)
            #expect(missingKey.message.hasPrefix("header Idempotency-Key:"))

            let list = try await client.send(uri, token: token)
            #expect((list.json["contacts"] as? [[String: Any]])?.count == 1)
            let next = try #require(list.json["next"] as? String)
            let after = try await client.send("\(uri)?after=\(next)", token: token)
            #expect((after.json["contacts"] as? [Any])?.isEmpty == true)
        }
        #expect(try await fixture.hub.registry.database("11002")!.contactCount() == 1)
    }

    @Test func aBadContactIsRefusedNamingTheField() async throws {
        let fixture = try await APIFixture.demo("contact-fields")
        let token = try fixture.token(.contacts)
        let app = try buildApplication(hub: fixture.hub)
        let future = CalendarDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400) + 3).iso
        let cases: [(String, String)] = [
            (fixture.contactBody(household: "nosuchhousehold"), "household"),
            (fixture.contactBody(method: "pigeon"), "method"),
            (fixture.contactBody(outcome: "maybe"), "outcome"),
            (fixture.contactBody(role: "Voornaam Achternaam"), "role"),
            (fixture.contactBody(role: "mayor"), "role"),
            (fixture.contactBody(date: "20/11/2026"), "date"),
            (fixture.contactBody(date: future), "date"),
            (#"{"household":"x","date":"2026-11-20","method":"phone","outcome":"reached"}"#, "role"),
            (#"{"household":"x","date":"2026-11-20","method":"phone","outcome":"reached","role":"social_worker","name":"An"}"#, "name"),
            (#"{"household":42,"date":"2026-11-20","method":"phone","outcome":"reached","role":"social_worker"}"#, "household"),
            (fixture.contactBody().replacingOccurrences(of: "}", with: #","next_step":"\#(String(repeating: "x", count: 501))"}"#), "next_step"),
        ]
        try await app.test(.router) { client in
            for (index, (body, field)) in cases.enumerated() {
                let answer = try await client.send("/v1/tenants/11002/contacts", .post, token: token, headers: [.idempotencyKey: "bad-\(index)"], body: body)
                #expect(answer.status == .unprocessableContent, "case \(index)")
                #expect(answer.message.hasPrefix("field \(field):"), "case \(index): \(answer.message)")
            }
            let notJSON = try await client.send("/v1/tenants/11002/contacts", .post, token: token, headers: [.idempotencyKey: "x1"], body: "household=x")
            #expect(notJSON.status == .badRequest)
            let wrongType = try await client.send("/v1/tenants/11002/contacts", .post, token: token,
                                                  headers: [.idempotencyKey: "x2", .contentType: "text/plain"], body: fixture.contactBody())
            #expect(wrongType.status == .unsupportedMediaType)
            let huge = try await client.send("/v1/tenants/11002/contacts", .post, token: token, headers: [.idempotencyKey: "x3"],
                                             body: #"{"next_step":""# + String(repeating: "x", count: 70_000) + #""}"#)
            #expect(huge.status == .contentTooLarge)
        }
        #expect(try await fixture.hub.registry.database("11002")!.contactCount() == 0)
    }

    /// The follow-up rules through the API: a disconnected household needs outreach until a
    /// contact reaches it; `needs=` filters on it.
    @Test func casesShowWhoNeedsOutreachUntilAContactReachesThem() async throws {
        let fixture = try await APIFixture.demo("outreach")
        let token = try fixture.token(.contacts, town: "44021")    // Gent has disconnected households
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let all = try await client.send("/v1/tenants/44021/cases?limit=1000", token: token)
            let cases = try #require(all.json["cases"] as? [[String: Any]])
            #expect(cases.count == (try await fixture.hub.registry.database("44021")!.cases(limit: 1000).count))
            let disconnected = cases.filter { $0["state"] as? String == "disconnected" }
            #expect(!disconnected.isEmpty)
            #expect(disconnected.allSatisfy { $0["needs_outreach"] as? Bool == true })
            #expect(cases.filter { $0["state"] as? String != "disconnected" }.allSatisfy { $0["needs_outreach"] as? Bool == false })
            #expect(cases.allSatisfy { ($0["suggest_waterscan"] as? Bool) == ($0["protected_customer"] as? String == "yes") })
            let stepDates = try #require(cases.first?["step_dates"] as? [String: Any])
            #expect(Set(stepDates.keys) == Set(EventType.allCases.map(\.rawValue)))

            let outreach = try await client.send("/v1/tenants/44021/cases?needs=outreach&limit=1", token: token)
            let firstPage = try #require(outreach.json["cases"] as? [[String: Any]])
            #expect(firstPage.count == 1)
            let key = try #require(firstPage.first?["key"] as? String)
            let lastStep = try #require(firstPage.first?["last_event_on"] as? String)

            let visit = fixture.contactBody(household: key, date: lastStep, method: "home_visit_unannounced", outcome: "reached", role: "prevention_worker")
            let recorded = try await client.send("/v1/tenants/44021/contacts", .post, token: token, headers: [.idempotencyKey: "reach-1"], body: visit)
            #expect(recorded.status == .created)
            let after = try await client.send("/v1/tenants/44021/cases?needs=outreach&limit=1000", token: token)
            let stillOnTheList = (after.json["cases"] as? [[String: Any]])?.compactMap { $0["key"] as? String } ?? []
            #expect(!stillOnTheList.contains(key))
            #expect(stillOnTheList.count == disconnected.count - 1)

            let state = try await client.send("/v1/tenants/44021/cases?state=disconnected,reconnected", token: token)
            let states = Set((state.json["cases"] as? [[String: Any]])?.compactMap { $0["state"] as? String } ?? [])
            #expect(states.isSubset(of: ["disconnected", "reconnected"]) && !states.isEmpty)
        }
    }

    @Test func aHouseholdsHistoryCarriesProvenance() async throws {
        let fixture = try await APIFixture.demo("history")
        let token = try fixture.token(.read)
        let app = try buildApplication(hub: fixture.hub)
        let database = try #require(try await fixture.hub.registry.database("11002"))
        let key = try #require(try await database.cases(limit: 1000).max { $0.householdCase.eventCount < $1.householdCase.eventCount }?.key)
        let expected = try await database.events(ofHousehold: key) ?? []
        try await app.test(.router) { client in
            let answer = try await client.send("/v1/tenants/11002/cases/\(key)/events", token: token)
            #expect(answer.status == .ok)
            let events = try #require(answer.json["events"] as? [[String: Any]])
            #expect(events.compactMap { $0["seq"] as? Int } == expected.map { Int($0.seq) })
            #expect(events.allSatisfy { $0["household"] as? String == key })
            let provenance = try #require(events.first?["provenance"] as? [String: Any])
            #expect((provenance["file_sha256"] as? String)?.count == 64)
            #expect((provenance["line"] as? Int ?? 0) >= 2)
            #expect(events.first?["source"] as? String != nil)

            let unknown = try await client.send("/v1/tenants/11002/cases/nosuchkey/events", token: token)
            #expect(unknown.status == .notFound)
            // Another town's household key is unknown here, exactly like a key that does not exist.
            let gent = try #require(try await fixture.hub.registry.database("44021")?.cases(limit: 1).first?.key)
            let foreign = try await client.send("/v1/tenants/11002/cases/\(gent)/events", token: token)
            #expect(foreign.status == .notFound && foreign.body == unknown.body)
        }
    }

    @Test func theWeeklyReportPrintsAsHTMLAndExportsAsCSV() async throws {
        let fixture = try await APIFixture.demo("report")
        let token = try fixture.token(.read)
        let database = try #require(try await fixture.hub.registry.database("11002"))
        let events = try await database.events(after: 0, limit: 10_000).filter(\.isCurrent)
        let busiest = try #require(Dictionary(grouping: events, by: { $0.event.eventDate.isoWeek }).max { $0.value.count < $1.value.count })
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let uri = "/v1/tenants/11002/reports/weekly/\(busiest.key)"
            let json = try await client.send(uri, token: token)
            #expect(json.status == .ok)
            let sections = try #require(json.json["sections"] as? [[String: Any]])
            #expect(sections.map { $0["type"] as? String } == EventType.allCases.map(\.rawValue))
            #expect(sections.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == busiest.value.count)
            #expect(json.json["from"] as? String == busiest.key.monday.iso)

            let html = try await client.send(uri, token: token, headers: [.accept: "text/html,application/xhtml+xml"])
            #expect(html.headers[.contentType] == "text/html; charset=utf-8")
            #expect(html.body.hasPrefix("<!DOCTYPE html>"))
            #expect(html.body.contains("@media print"))
            #expect(html.body.contains("Weekrapport") && html.body.contains(EventType.disconnection.dutchLabel))
            let external = ["src=", "href=", "http://", "https://", "@import", "url("].filter(html.body.contains)
            #expect(external.isEmpty, "no external resources: \(external)")
            let rows = html.body.components(separatedBy: "<tr").count - 1
            #expect(rows == 1 + EventType.allCases.count + 1 + sections.filter { ($0["count"] as? Int ?? 0) > 0 }.count + busiest.value.count)

            let csv = try await client.send("\(uri)?format=csv", token: token)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(Array(csv.body.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
            let lines = CSVRows(csv.body)
            #expect(lines.first?.dropFirst().first == "stap")
            #expect(lines.count == 1 + busiest.value.count)

            let empty = try await client.send("/v1/tenants/11002/reports/weekly/2020-W01", token: token)
            #expect((empty.json["sections"] as? [[String: Any]])?.allSatisfy { $0["count"] as? Int == 0 } == true)
        }
    }

    @Test func aTokenOverItsRateGets429WithRetryAfter() async throws {
        let directory = TemporaryDirectory("rate")
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.api.requestsPerMinute = 3
        // A held clock: the 3-a-minute bucket gives a token back every 20 s, which a slow
        // suite could otherwise spend between the requests.
        let clock = TestClock()
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, now: { clock.now })
        let (busy, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let (calm, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            for _ in 0..<3 {
                #expect(try await client.send("/v1/tenants/11002/events", token: busy).status == .ok)
            }
            let refused = try await client.send("/v1/tenants/11002/events", token: busy)
            #expect(refused.status == .tooManyRequests)
            let wait = Int(refused.headers[.retryAfter] ?? "") ?? 0
            #expect(wait == 20)
            #expect(try await client.send("/v1/tenants/11002/events", token: calm).status == .ok, "another token has its own budget")
            clock.advance(days: 19.0 / 86_400)
            #expect(try await client.send("/v1/tenants/11002/events", token: busy).status == .tooManyRequests)
            clock.advance(days: 2.0 / 86_400)
            #expect(try await client.send("/v1/tenants/11002/events", token: busy).status == .ok, "the bucket refills one request every 20 s")
        }
        #expect(try hub.ledger.audit().map(\.status).suffix(4) == [429, 200, 429, 200])
    }

    @Test func theAuditLogCountsRowsAndTheCommandChecksItsArguments() async throws {
        let fixture = try await APIFixture.demo("audit")
        let token = try fixture.token(.read)
        let app = try buildApplication(hub: fixture.hub)
        let cases = try await fixture.hub.registry.database("11002")!.cases(limit: 1000).count
        try await app.test(.router) { client in
            _ = try await client.send("/v1/tenants/11002/cases?limit=1000", token: token)
            _ = try await client.send("/v1/tenants/11002/events?limit=3&format=ndjson", token: token)
            _ = try await client.send("/v1/tenants/44021/cases", token: token)
        }
        let entries = try fixture.hub.ledger.audit(tenant: "11002")
        #expect(entries.map(\.endpoint) == ["/v1/tenants/{nis}/cases", "/v1/tenants/{nis}/events", "/v1/tenants/{nis}/cases"])
        #expect(entries.map(\.rows) == [cases, 3, 0])
        #expect(entries.map(\.status) == [200, 200, 404])
        #expect(throws: CommandFailure.self) { try fixture.hub.auditCommand(tenant: "12345", since: nil, limit: 10) }
        #expect(throws: CommandFailure.self) { try fixture.hub.auditCommand(tenant: "11002", since: "1/11/2026", limit: 10) }
        try fixture.hub.auditCommand(tenant: "11002", since: "2000-01-01", limit: 10)
    }

    @Test func aKnownPathWithAnotherMethodGets405() async throws {
        let directory = TemporaryDirectory("405")
        let hub = try makeHub(sources: [], directory: directory)
        let app = try buildApplication(hub: hub)
        try await app.test(.router) { client in
            let events = try await client.execute(uri: "/v1/tenants/11002/events", method: .delete)
            #expect(events.status == .methodNotAllowed)
            #expect(events.headers[.allow] == "GET")
            let contacts = try await client.execute(uri: "/v1/tenants/44021/contacts", method: .put)
            #expect(contacts.headers[.allow] == "GET, POST")
            #expect(try await client.execute(uri: "/v1/tenants/11002/nothing", method: .get).status == .notFound)
        }
    }
}
