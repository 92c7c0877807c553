import Foundation
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubStorage
import WaterHubTestSupport

/// A hub on the demo towns with a generated feed large enough that many figures are published
/// (the demo feeds alone are so small that nearly everything is withheld): households of very
/// different sizes of town going through the steps over four months, and contacts in two towns.
struct StatisticsFixture: Sendable {
    let directory: TemporaryDirectory
    let hub: Hub

    /// Households per demo town: large, middling and small towns.
    static let households: [String: Int] = ["11002": 140, "13040": 45, "23088": 30, "23096": 6, "44021": 100, "44088": 14, "46030": 22]

    static func generated(_ label: String, configure: (inout HubConfiguration) -> Void = { _ in }) async throws -> StatisticsFixture {
        let directory = TemporaryDirectory(label)
        var feed = CanonicalFeed()
        var random = SeededGenerator(seed: 2026)
        var id = 0
        func add(_ type: EventType, _ date: CalendarDate, customer: String, nis: String, protected: String) {
            id += 1
            feed.rows.append([.sourceEventID: "S\(id)", .type: type.rawValue, .eventDate: date.iso, .customerNumber: customer,
                              .nisCode: nis, .name: "Naam \(customer)", .street: "Straat \(id % 97)", .amountDue: "\(id % 700).50",
                              .protectedCustomer: protected, .phone: "0470 \(100_000 + id)"])
        }
        for (nis, count) in households.sorted(by: { $0.key < $1.key }) {
            for household in 0..<count {
                let customer = "K\(nis)-\(household)"
                let protected = ["yes", "no", "no", "unknown"][random.next(4)]
                var date = CalendarDate(iso: "2026-08-03")!.adding(days: random.next(100))
                add(.lacRequest, date, customer: customer, nis: nis, protected: protected)
                if random.next(10) < 7 {
                    date = date.adding(days: 1 + random.next(12))
                    add(.warningLetter, date, customer: customer, nis: nis, protected: protected)
                }
                if random.next(10) < 5 {
                    date = date.adding(days: 3 + random.next(10))
                    add(.flowLimitationAnnounced, date, customer: customer, nis: nis, protected: protected)
                    if random.next(10) < 8 {
                        date = date.adding(days: 40 + random.next(8))
                        add(.flowLimitation, date, customer: customer, nis: nis, protected: protected)
                        if random.next(10) < 6 {
                            add(.flowLimitationRemoved, date.adding(days: 3 + random.next(30)), customer: customer, nis: nis, protected: protected)
                        }
                    }
                } else if random.next(10) < 3 {
                    date = date.adding(days: 10 + random.next(10))
                    add(.intentToDisconnect, date, customer: customer, nis: nis, protected: protected)
                    if random.next(10) < 7 {
                        date = date.adding(days: 14 + random.next(14))
                        add(.disconnection, date, customer: customer, nis: nis, protected: protected)
                        if random.next(10) < 7 {
                            add(.reconnection, date.adding(days: 1 + random.next(9)), customer: customer, nis: nis, protected: protected)
                        }
                    }
                }
            }
        }
        let path = directory.write("generated.csv", Data(feed.bytes))
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.sources = [canonicalSource(url: "file://\(path)")]
        configure(&configuration)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, retryBaseDelay: .milliseconds(5))
        _ = try await hub.fetchAll()
        // Contacts in Antwerpen and Gent, by phone (most reached), by letter and with home visits.
        let methods: [(ContactMethod, Int)] = [(.phone, 7), (.letter, 3), (.homeVisitUnannounced, 6)]
        for nis in ["11002", "44021"] {
            let database = try await hub.registry.database(nis)!
            let keys = try await database.cases(limit: 60).map(\.key)
            for (index, key) in keys.enumerated() {
                let (method, reachedOutOfTen) = methods[index % methods.count]
                let contact = Contact(date: CalendarDate(iso: "2026-11-20")!, method: method,
                                      outcome: random.next(10) < reachedOutOfTen ? .reached : .notReached, role: "social_worker")
                _ = try await database.record(contact, household: key, idempotencyKey: "fixture-\(nis)-\(index)", tokenID: "fixture")
            }
        }
        try await hub.rebuildStatistics()
        return StatisticsFixture(directory: directory, hub: hub)
    }
}
