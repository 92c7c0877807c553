import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics
import WaterHubStorage
import WaterHubTestSupport

/// Who may read the statistics: a `stats` token, and nobody else; the dashboard's login keeps the
/// token on the server.
@Suite struct StatisticsAccessTests {
    /// The statistics and dashboard reads of the OpenAPI document (so a new route cannot be forgotten).
    static let reads = SpecOperation.all.filter { ($0.path.hasPrefix("/v1/stats/") || $0.path == "/dashboard") && $0.method == .get }

    @Test func everyStatisticsRouteDeclaresTheStatsScope() {
        let statistics = SpecOperation.all.filter { $0.path.hasPrefix("/v1/stats/") }
        #expect(statistics.count == 7)
        for operation in statistics { #expect(operation.scope == .stats, "\(operation.testDescription)") }
    }

    /// The answers carry the stored figures, in their columns, withheld ones as `x` (CSV) or
    /// `null` (JSON), days as hundredths of a day written as days.
    @Test func theAnswersCarryTheStoredFigures() async throws {
        let fixture = try await APIFixture.demo("stats-values")
        try await fixture.hub.rebuildStatistics()
        let stored = try #require(try fixture.hub.statistics.load())
        let token = try fixture.token(.stats)
        @Sendable func texts(_ entries: [Disclosed<Int>]) -> [String] { entries.map { $0.displayText(suppressedMarker: "x") } }
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let weekly = CSVRows(try await client.send("/v1/stats/weekly?format=csv", token: token).body)
            #expect(weekly.first == ["\u{FEFF}week"] + PublishedStatistics.columnCodes)
            #expect(Array(weekly.dropFirst()) == stored.weeks.map { [$0.week.description] + texts($0.table.columnTotals + [$0.table.grandTotal]) })
            let week = try #require(stored.weeks.last)
            let table = CSVRows(try await client.send("/v1/stats/weekly/\(week.week)?format=csv", token: token).body)
            #expect(table.count == stored.towns.count + 2)
            for (row, town) in stored.towns.enumerated() {
                #expect(table[row + 1] == [town.nisCode, town.name] + texts(week.table.cells[row] + [week.table.rowTotals[row]]))
            }
            #expect(table.last == ["region", "Regio"] + texts(week.table.columnTotals + [week.table.grandTotal]))
            let durations = try #require(try await client.send("/v1/stats/durations", token: token).json["durations"] as? [[String: Any]])
            #expect(durations.count == stored.durations.count)
            #expect(stored.durations.contains { !$0.quartiles.isSuppressed }, "some quartiles are published to compare")
            for (answer, figure) in zip(durations, stored.durations) {
                #expect(answer["measure"] as? String == figure.measure.rawValue && answer["scope"] as? String == figure.scope.code)
                let quartiles = figure.quartiles.publishedValue
                for (name, centidays) in zip(["q1_days", "median_days", "q3_days"], [quartiles?.first, quartiles?.median, quartiles?.third]) {
                    if let centidays {
                        #expect((answer[name] as? NSNumber)?.doubleValue == Double(centidays) / 100, "\(name) of \(figure.measure)")
                    } else {
                        #expect(answer[name] is NSNull, "\(name) of \(figure.measure) is withheld")
                    }
                }
            }
        }
    }

    @Test(arguments: reads)
    func onlyAStatsTokenReadsTheStatistics(_ operation: SpecOperation) async throws {
        let fixture = try await APIFixture.demo("stats-access")
        try await fixture.hub.rebuildStatistics()
        let uri = operation.path.replacingOccurrences(of: "{week}", with: "2026-W46")
        let statsToken = try fixture.token(.stats)
        let townTokens = try [APIFixture.town, APIFixture.otherTown].flatMap { town in
            [try fixture.token(.read, town: town), try fixture.token(.contacts, town: town)]
        }
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let allowed = try await client.send(uri, token: statsToken)
            #expect(allowed.status == .ok, "a stats token on \(uri)")
            // Every town token gets 404, the very body a town token gets for a town not its own.
            let reference = try await client.send("/v1/tenants/\(APIFixture.noTown)/events", token: townTokens[0])
            #expect(reference.status == .notFound)
            for token in townTokens {
                let answer = try await client.send(uri, token: token)
                let same = answer.status == .notFound && answer.body == reference.body
                #expect(same, "a town token on \(uri) must get the same 404 as on another town")
            }
            let anonymous = try await client.send(uri)
            if operation.path == "/dashboard" {
                #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/dashboard/login")
            } else {
                #expect(anonymous.status == .unauthorized)
            }
            let forged = try await client.send(uri, authorization: "Bearer wh_aaaaaaaaaaaa_\(String(repeating: "A", count: 43))")
            #expect(forged.status == .unauthorized)
            if operation.path != "/dashboard" {
                let csv = try await client.send(uri + "?format=csv", token: statsToken)
                #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
                let unknown = try await client.send(uri + "?town=11002", token: statsToken)
                #expect(unknown.status == .badRequest)
            }
        }
    }

    @Test func theDashboardIsOneScriptFreePageUnderAStrictPolicy() async throws {
        let fixture = try await StatisticsFixture.generated("stats-page")
        let token = try fixture.hub.ledger.issueToken(tenant: nil, scope: .stats).token
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.router) { client in
            let page = try await client.send("/dashboard?week=2026-W44", token: token)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("default-src 'none'") && !policy.contains("unsafe") && !policy.contains("script-src"))
            // The one style sheet is allowed by its hash, and it is exactly what the page carries.
            let style = try #require(page.body.range(of: "<style>").flatMap { start in
                page.body.range(of: "</style>").map { String(page.body[start.upperBound..<$0.lowerBound]) }
            })
            let hash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
            #expect(policy.contains("'sha256-\(hash)'"))
            #expect(!page.body.contains("<script") && !page.body.contains("http://") && !page.body.contains("https://"))
            #expect(!page.body.contains("style=\""))
            #expect(page.body.components(separatedBy: "<svg").count - 1 >= 9 + 4 + 2)
            #expect(page.body.contains("id=\"week-table\"") && page.body.contains("Week 2026-W44 per gemeente"))
            #expect(page.body.contains("<td class=\"num x\" title=\"niet gepubliceerd\">x</td>"))
            #expect(page.body.contains("Werkwijze") && page.body.contains("@media print"))
            for type in EventType.allCases { #expect(page.body.contains(type.dutchLabel)) }
            let badWeek = try await client.send("/dashboard?week=2026-W99", token: token)
            #expect(badWeek.status == .badRequest)
        }
    }

    @Test func loggingInSetsASessionCookieThatNeverHoldsTheTokenAndEndsOnLogoutOrRevocation() async throws {
        let fixture = try await APIFixture.demo("stats-login")
        try await fixture.hub.rebuildStatistics()
        let (statsToken, statsInfo) = try fixture.hub.ledger.issueToken(tenant: nil, scope: .stats, label: "cell")
        let townToken = try fixture.token(.read)
        let app = try buildApplication(hub: fixture.hub)
        try await app.test(.live) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let start = try await client.send("/dashboard")
            #expect(start.status == .seeOther && start.headers[.location] == "/dashboard/login")
            let loginForm = try await client.send("/dashboard/login")
            #expect(loginForm.status == .ok && loginForm.body.contains("name=\"token\"") && !loginForm.body.contains("<script"))

            // A town's token, or nonsense, does not open the dashboard.
            for wrong in [townToken, "wh_nonsense", ""] {
                let refused = try await client.send("/dashboard/login", .post, headers: form, body: "token=\(wrong)")
                #expect(refused.status == .unauthorized && refused.headers[.setCookie] == nil)
                #expect(refused.body.contains("geen toegang"))
            }
            let missing = try await client.send("/dashboard/login", .post, headers: form, body: "other=1")
            #expect(missing.status == .unprocessableContent)
            let json = try await client.send("/dashboard/login", .post, body: #"{"token":"\#(statsToken)"}"#)
            #expect(json.status == .unsupportedMediaType)
            let crossSite = try await client.send("/dashboard/login", .post, headers: form + [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"],
                                                  body: "token=\(statsToken)")
            #expect(crossSite.status == .forbidden)

            // The stats token logs in: a session cookie, secure by every attribute, without the token.
            let login = try await client.send("/dashboard/login", .post, headers: form,
                                              body: "token=\(statsToken.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(login.status == .seeOther && login.headers[.location] == "/dashboard")
            let setCookie = try #require(login.headers[.setCookie])
            for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/dashboard"] { #expect(setCookie.contains(attribute)) }
            #expect(!setCookie.contains(statsToken) && !setCookie.contains(String(statsToken.dropFirst(16))) && !setCookie.contains(statsInfo.id))
            let session = try #require(setCookie.split(separator: ";").first.map(String.init))
            #expect(session.hasPrefix("waterhub_dashboard=") && session.count > 40)

            let page = try await client.send("/dashboard", headers: [.cookie: session])
            #expect(page.status == .ok && page.body.contains("<svg") && page.body.contains("id=\"week-table\""))
            let forged = try await client.send("/dashboard", headers: [.cookie: "waterhub_dashboard=\(String(repeating: "A", count: 43))"])
            #expect(forged.status == .seeOther)

            // Logging out ends the session on the server, not only in the browser.
            let logout = try await client.send("/dashboard/logout", .post, headers: [.cookie: session])
            #expect(logout.status == .seeOther && logout.headers[.location] == "/dashboard/login")
            #expect(logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            let afterLogout = try await client.send("/dashboard", headers: [.cookie: session])
            #expect(afterLogout.status == .seeOther)

            // Revoking the token ends its sessions at their next request.
            let again = try await client.send("/dashboard/login", .post, headers: form, body: "token=\(statsToken)")
            let second = try #require(again.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            #expect(try await client.send("/dashboard", headers: [.cookie: second]).status == .ok)
            try fixture.hub.ledger.revokeToken(id: statsInfo.id)
            #expect(try await client.send("/dashboard", headers: [.cookie: second]).status == .seeOther)
        }
        // The dashboard's requests are in the audit log with the token that made them.
        let entries = try fixture.hub.ledger.audit().filter { $0.endpoint.hasPrefix("/dashboard") }
        #expect(entries.contains { $0.endpoint == "/dashboard" && $0.status == 200 && $0.tokenID == statsInfo.id })
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var fields = lhs
        for field in rhs { fields.append(field) }
        return fields
    }
}
