import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import WaterHubAPI
import WaterHubApp
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// The incremental pull: cursors, filters, CSV and NDJSON exports that stream.
@Suite struct PullAPITests {
    /// A feed of `count` events for Antwerpen (postal code 2000), types and dates cycling.
    static func feed(_ prefix: String, count: Int, households: Int = 997) -> CanonicalFeed {
        var feed = CanonicalFeed()
        let types = EventType.allCases
        for index in 0..<count {
            let day = CalendarDate.day("2026-01-05").adding(days: index % 300)
            feed.add("\(prefix)\(index)", types[index % types.count], date: day.iso, customer: "K\(index % households)",
                     name: "Naam \(index % households)", street: index % 50 == 0 ? "Lange; \"Straat\"\nbis" : "Kerkstraat")
        }
        return feed
    }

    /// Publishes `feed` as `file` on a loopback feed server, ingests it into a fresh hub, and runs
    /// `body` with the hub, a read token of Antwerpen (11002) and the server (to publish more).
    static func withAntwerpen(_ label: String, file: String, feed: CanonicalFeed,
                              _ body: @Sendable (Hub, String, FeedServer) async throws -> Void) async throws {
        let directory = TemporaryDirectory(label)
        let server = FeedServer()
        server.publish(file, feed.bytes)
        try await server.run { base in
            let hub = try makeHub(sources: [canonicalSource(url: "\(base)/\(file)")], directory: directory)
            _ = try await hub.fetchAll()
            let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
            try await body(hub, token, server)
        }
    }

    /// The cursor of a `Link: <…?after=CURSOR&…>; rel="next"` header.
    static func linkCursor(_ headers: HTTPFields) -> String? {
        guard let link = headers[HTTPField.Name("Link")!], link.hasSuffix("; rel=\"next\""),
              let start = link.range(of: "after=") else { return nil }
        return String(link[start.upperBound...].prefix { $0 != "&" && $0 != ">" })
    }

    @Test func aLargeTownExportsAsCSVAndNDJSONInOneStreamedAnswer() async throws {
        // Ten streamed batches of 500 rows; the memory of a 100,000-event export is measured in Ops/bench.
        let total = 5_000
        try await Self.withAntwerpen("export", file: "big.csv", feed: Self.feed("B", count: total)) { hub, token, _ in
            let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in
                let csv = try await client.send("/v1/tenants/11002/events?format=csv", token: token)
                #expect(csv.status == .ok)
                #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
                let bytes = Array(csv.body.utf8)
                #expect(bytes.prefix(3) == [0xEF, 0xBB, 0xBF])
                let rows = CSVRows(csv.body)
                #expect(rows.first?.first == "\u{FEFF}seq")
                #expect(rows.first?.count == 25)
                #expect(rows.count == total + 1)
                #expect(rows.dropFirst().allSatisfy { $0.count == 25 }, "every row has every column, quoted fields included")
                let seqs = rows.dropFirst().compactMap { Int($0[0]) }
                #expect(seqs == Array(1...total))
                #expect(rows.dropFirst().filter { $0[11] == "Lange; \"Straat\"\nbis" }.count == total / 50)
                #expect(Self.linkCursor(csv.headers) == Cursor.encode(Int64(total)))

                // The same through Accept, as NDJSON: one JSON object per line.
                let ndjson = try await client.send("/v1/tenants/11002/events", token: token, headers: [.accept: "application/x-ndjson"])
                #expect(ndjson.headers[.contentType] == "application/x-ndjson")
                let lines = ndjson.body.split(separator: "\n")
                #expect(lines.count == total)
                let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(objects.count == total)
                #expect(objects.last?["seq"] as? Int == total)

                // Every request is audited with the rows it really returned.
                let rowsAudited = try hub.ledger.audit(tenant: "11002").map(\.rows)
                #expect(rowsAudited == [total, total])
            }
        }
    }

    @Test func filtersLimitsAndTheLinkHeaderWorkTogether() async throws {
        try await Self.withAntwerpen("filters", file: "feed.csv", feed: Self.feed("F", count: 900)) { hub, token, _ in
            let all = try await hub.registry.database("11002")!.events(after: 0, limit: 10_000)
            let wanted = all.filter {
                [.disconnection, .reconnection].contains($0.event.type) && $0.event.eventDate >= .day("2026-03-01") && $0.event.eventDate <= .day("2026-06-30")
            }
            #expect(wanted.count > 40)
            let app = try buildApplication(hub: hub)
            try await app.test(.router) { client in
                var seen: [Int64] = []
                var uri = "/v1/tenants/11002/events?limit=17&type=reconnection,disconnection&since=2026-03-01&until=2026-06-30"
                for _ in 0..<50 {
                    let page = try await client.send(uri, token: token)
                    #expect(page.status == .ok)
                    let events = try #require(page.json["events"] as? [[String: Any]])
                    let next = try #require(page.json["next"] as? String)
                    #expect(Self.linkCursor(page.headers) == next)
                    #expect(page.headers[HTTPField.Name("Link")!]?.contains("type=disconnection,reconnection&since=2026-03-01&until=2026-06-30") == true)
                    if events.isEmpty { break }
                    #expect(events.count <= 17)
                    seen += events.compactMap { ($0["seq"] as? Int).map(Int64.init) }
                    uri = "/v1/tenants/11002/events?limit=17&type=reconnection,disconnection&since=2026-03-01&until=2026-06-30&after=\(next)"
                }
                #expect(seen == wanted.map(\.seq))

                // An empty page still moves the cursor past events that did not match.
                let none = try await client.send("/v1/tenants/11002/events?type=lac_request&since=2030-01-01", token: token)
                #expect((none.json["events"] as? [Any])?.isEmpty == true)
                #expect(none.json["next"] as? String == Cursor.encode(Int64(all.count)))

                // CSV with a limit and a filter.
                let csv = try await client.send("/v1/tenants/11002/events?format=csv&limit=5&type=disconnection", token: token)
                let rows = CSVRows(csv.body).dropFirst()
                #expect(rows.count == 5)
                #expect(rows.allSatisfy { $0[5] == "disconnection" })
            }
        }
    }

    /// Pages are kept in memory while their town file is unchanged: a change by another process
    /// (here a second connection) or by an ingest is seen by the very next request, and another
    /// town's token never reaches a kept page.
    @Test func aKeptPageChangesAsSoonAsItsTownFileDoes() async throws {
        try await Self.withAntwerpen("page-cache", file: "feed.csv", feed: Self.feed("P", count: 150)) { hub, token, server in
            let (beveren, _) = try hub.ledger.issueToken(tenant: "46030", scope: .read)
            let app = try buildApplication(hub: hub)
            try await app.test(.router) { client in
                let uri = "/v1/tenants/11002/events?limit=500"
                let first = try await client.send(uri, token: token)
                let again = try await client.send(uri, token: token)
                #expect((first.json["events"] as? [Any])?.count == 150)
                #expect(again.body == first.body && again.headers[HTTPField.Name("Link")!] == first.headers[HTTPField.Name("Link")!])
                #expect(hub.pages.usage.hits == 1, "the second answer came from memory")
                #expect(try await client.send(uri, token: beveren).status == .notFound, "a kept page is still only its town's")

                // Another process changes the file: the next answer shows it.
                let file = try DatabaseQueue(path: hub.directory.tenantFile(Tenant(nisCode: "11002", name: "Antwerpen")))
                try await file.write { db in try db.execute(sql: "UPDATE event SET street = 'Gewijzigde straat' WHERE seq = 1") }
                try file.close()
                let changed = try await client.send(uri, token: token)
                let events = try #require(changed.json["events"] as? [[String: Any]])
                #expect(events.first?["street"] as? String == "Gewijzigde straat")

                // An ingest adds events: the same page now holds them. (Only new ones: the P events
                // sent again would correct the street changed above, as a new version.)
                server.publish("feed.csv", Self.feed("Q", count: 100).bytes)
                _ = try await hub.fetchAll()
                let grown = try await client.send(uri, token: token)
                #expect((grown.json["events"] as? [Any])?.count == 250)
                #expect(try hub.ledger.audit(tenant: "11002").map(\.rows) == [150, 150, 150, 250], "every answer, kept or not, is audited")
                #expect(hub.pages.usage.hits == 1, "no answer from memory after a change")
            }
        }
    }

    @Test func badParametersAreRefusedByName() async throws {
        let directory = TemporaryDirectory("strict")
        let hub = try makeHub(sources: [], directory: directory)
        let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub)
        let cases: [(String, String)] = [
            ("events?colour=blue", "colour"), ("events?limit=5&limit=6", "limit"), ("events?type=explosion", "type"),
            ("events?type=disconnection,", "type"), ("events?since=2026-02-30", "since"), ("events?until=16/11/2026", "until"),
            ("events?since=2026-05-01&until=2026-04-01", "until"), ("events?format=xml", "format"), ("events?after=\(Cursor.encode(3, in: .cases))", "after"),
            ("cases?state=gone", "state"), ("cases?protected=maybe", "protected"), ("cases?needs=money", "needs"), ("cases?limit=1001", "limit"),
            ("cases?after=\(Cursor.encode(3))", "after"), ("contacts?after=abc", "after"), ("contacts?limit=0", "limit"),
            ("reports/weekly/2026-W54", "week"), ("reports/weekly/2026-47", "week"), ("reports/weekly/0000-W01", "week"),
            ("reports/weekly/2026-W47?format=pdf", "format"), ("cases/abc/events?x=1", "x"),
        ]
        try await app.test(.router) { client in
            for (query, name) in cases {
                let answer = try await client.send("/v1/tenants/11002/\(query)", token: token)
                #expect(answer.status == .badRequest, "\(query)")
                #expect(answer.message.hasPrefix("parameter \(name):"), "\(query): \(answer.message)")
            }
        }
    }

    /// A client that follows `next` from an empty cursor while batches keep arriving gets every
    /// event exactly once, in order (live server, ingest running at the same time).
    @Test func pullingWhileAnIngestRunsReturnsEveryEventExactlyOnce() async throws {
        let directory = TemporaryDirectory("concurrent")
        let server = FeedServer()
        try await server.run { base in
            let hub = try makeHub(sources: [canonicalSource(url: "\(base)/week.csv")], directory: directory)
            let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
            let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
            let weeks = 12
            try await app.test(.live) { client in
                let ingestDone = Flag()
                let pagesPulled = Counter()
                async let ingest: Void = {
                    for week in 0..<weeks {
                        // Each batch lands after the client has pulled again, so the two really interleave.
                        let seenBefore = pagesPulled.value
                        for _ in 0..<400 where pagesPulled.value == seenBefore { try await Task.sleep(for: .milliseconds(5)) }
                        var feed = Self.feed("W\(week)-", count: 150, households: 40)
                        if week > 0 { feed.add("W\(week - 1)-3", .disconnection, customer: "K3", amount: "77.00") }    // a correction
                        server.publish("week.csv", feed.bytes)
                        _ = try await hub.fetchAll()
                    }
                    ingestDone.raise()
                }()
                var seen: [String] = []
                var cursor: String?
                var lastSeq = 0
                var pagesDuringIngest = 0
                while true {
                    let finished = ingestDone.isRaised
                    let page = try await client.send("/v1/tenants/11002/events?limit=37" + (cursor.map { "&after=\($0)" } ?? ""), token: token)
                    guard page.status == .ok, let events = page.json["events"] as? [[String: Any]], let next = page.json["next"] as? String else {
                        Issue.record("a page failed: \(page.status)"); break
                    }
                    for event in events {
                        let seq = event["seq"] as? Int ?? 0
                        if seq <= lastSeq { Issue.record("seq \(seq) after \(lastSeq)") }
                        lastSeq = seq
                        seen.append("\(event["source_event_id"] as? String ?? "?") v\(event["version"] as? Int ?? 0)")
                    }
                    cursor = next
                    pagesPulled.increment()
                    if !finished && !events.isEmpty { pagesDuringIngest += 1 }
                    if events.isEmpty {
                        if finished { break }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                }
                try await ingest
                #expect(pagesDuringIngest > 3, "the pulls must overlap the ingest")
                let stored = try await hub.registry.database("11002")!.events(after: 0, limit: 100_000)
                #expect(stored.count == weeks * 150 + (weeks - 1))
                #expect(seen.count == stored.count)
                #expect(Set(seen).count == seen.count, "no event twice")
                #expect(seen == stored.map { "\($0.event.sourceEventID) v\($0.version)" })
            }
        }
    }
}

/// A flag one task raises and another reads.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
}

/// A count one task raises and another reads.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .sequentiallyConsistent) }
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
}

/// Splits `;`-separated CSV with quoted fields (the test's own reader, independent of the writer).
func CSVRows(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var iterator = Array(text).makeIterator()
    var pending: Character? = nil
    while let character = pending ?? iterator.next() {
        pending = nil
        if quoted {
            if character == "\"" {
                if let following = iterator.next() {
                    if following == "\"" { field.append("\"") } else { quoted = false; pending = following }
                } else { quoted = false }
            } else {
                field.append(character)
            }
        } else if character == "\"" {
            quoted = true
        } else if character == ";" {
            row.append(field); field = ""
        } else if character == "\r\n" || character == "\n" {
            row.append(field); field = ""
            rows.append(row); row = []
        } else {
            field.append(character)
        }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}
