import Foundation
import GRDB
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics
import WaterHubStorage
import WaterHubTestSupport

/// The statistics store on real files: what it may hold, that every figure is as true as it is
/// safe, and that it is the same on every rebuild.
@Suite struct StatisticsStoreTests {
    /// The only columns the statistics store may have, compared with the schema of a real build:
    /// a new column needs a deliberate change to this test.
    static let allowedColumns: [String: [String]] = [
        "meta": ["name", "value"],
        "town": ["nis", "name", "position"],
        "weekly_count": ["week", "scope", "event_type", "households", "withheld"],
        "monthly_count": ["month", "event_type", "households", "withheld"],
        "duration": ["measure", "scope", "households", "q1_centidays", "median_centidays", "q3_centidays", "withheld"],
        "protected_share": ["state", "percent", "withheld"],
        "outreach": ["method", "households", "contacts", "reached_percent", "withheld"],
        "feed": ["source", "name", "last_delivery_on", "quarantined_percent"],
        "feed_week": ["source", "week", "rows_rounded"],
        "grdb_migrations": ["identifier"],
    ]

    /// Parts of column names that would mean personal data or a way back to a household.
    static let forbiddenNameParts = ["household_id", "key", "customer", "connection", "street", "house_number", "box", "postal", "phone",
                                     "email", "mail", "amount", "note", "address", "birth", "iban", "seq", "line", "sha", "token"]

    @Test func theStoreHasOnlyAllowListedColumnsAndNoHouseholdKeyOrPersonalData() async throws {
        let fixture = try await StatisticsFixture.generated("stats-schema")
        let hub = fixture.hub
        let queue = try DatabaseQueue(path: hub.directory.statistics)
        let (columns, texts) = try await queue.read { db -> ([String: [String]], Set<String>) in
            var columns: [String: [String]] = [:]
            var texts = Set<String>()
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                let names = try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table]).map { $0[0] as String }
                columns[table] = names
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") {
                    for value in row.databaseValues { if case .string(let text) = value.storage { texts.insert(text) } }
                }
            }
            return (columns, texts)
        }
        #expect(columns == Self.allowedColumns)
        for (table, names) in columns where table != "grdb_migrations" {
            for name in names {
                let forbidden = Self.forbiddenNameParts.filter { name.contains($0) }
                #expect(forbidden.isEmpty, "\(table).\(name) looks like it could hold personal data")
            }
        }
        // No text in the store is a household key or any personal field of any town.
        var personal = Set<String>()
        for tenant in hub.configuration.tenants {
            let database = try await hub.registry.database(tenant.nisCode)!
            for stored in try await database.events(after: 0, limit: 100_000) {
                personal.insert(stored.household)
                let event = stored.event
                for value in [event.customerNumber, event.connectionID, event.name, event.street, event.phone, event.email, event.note] {
                    if let value, !value.isEmpty { personal.insert(value) }
                }
            }
        }
        #expect(personal.count > 300)
        let leaked = texts.intersection(personal)
        #expect(leaked.isEmpty, "the statistics store holds \(leaked.count) personal value(s) or household key(s)")
        // The file is the operator's alone.
        let mode = try FileManager.default.attributesOfItem(atPath: hub.directory.statistics)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func noPublishedNumberComesFromFewerThanKHouseholdsAndEveryOneIsTrue() async throws {
        let fixture = try await StatisticsFixture.generated("stats-k")
        let hub = fixture.hub
        let k = hub.configuration.statistics.threshold
        let statistics = try #require(try StatisticsStore(path: hub.directory.statistics).load())
        let types = EventType.allCases

        // The truth, recomputed from the towns' events through the town API's own reads.
        var perCell: [ISOWeek: [String: [EventType: Set<String>]]] = [:]
        var perMonth: [StatisticsMonth: [EventType: Set<String>]] = [:]
        var perMonthAny: [StatisticsMonth: Set<String>] = [:]
        var durations: [DurationMeasure: [String: Int]] = [:]
        var protectedKnown: [CaseState: Int] = [:]
        var contactHouseholds: [ContactMethod: Set<String>] = [:]
        for tenant in hub.configuration.tenants {
            let database = try await hub.registry.database(tenant.nisCode)!
            var byHousehold: [String: [StoredEvent]] = [:]
            for stored in try await database.events(after: 0, limit: 100_000) where stored.isCurrent {
                let household = "\(tenant.nisCode)/\(stored.household)"
                let week = stored.event.eventDate.isoWeek
                perCell[week, default: [:]][tenant.nisCode, default: [:]][stored.event.type, default: []].insert(household)
                perMonth[StatisticsMonth(of: week), default: [:]][stored.event.type, default: []].insert(household)
                perMonthAny[StatisticsMonth(of: week), default: []].insert(household)
                byHousehold[household, default: []].append(stored)
            }
            for measure in DurationMeasure.allCases {
                let count = byHousehold.values.filter { events in
                    let sorted = events.sorted { ($0.event.eventDate, $0.seq) < ($1.event.eventDate, $1.seq) }
                    guard let start = sorted.firstIndex(where: { $0.event.type == measure.start }) else { return false }
                    let rest = sorted[(start + 1)...]
                    if let end = measure.end { return rest.contains { $0.event.type == end } }
                    return rest.contains { $0.event.type != measure.start }
                }.count
                durations[measure, default: [:]][tenant.nisCode] = count
            }
            for stored in try await database.cases(limit: 100_000) where stored.householdCase.protectedCustomer != .unknown {
                protectedKnown[stored.householdCase.state, default: 0] += 1
            }
            for contact in try await database.contacts(limit: 100_000) {
                contactHouseholds[contact.contact.method, default: []].insert("\(tenant.nisCode)/\(contact.household)")
            }
        }

        var published = 0
        for figures in statistics.weeks {
            let table = figures.table
            let truth = perCell[figures.week] ?? [:]
            for (row, town) in statistics.towns.enumerated() {
                let cells = types.map { truth[town.nisCode]?[$0]?.count ?? 0 }
                for (column, count) in cells.enumerated() {
                    guard let shown = table.cells[row][column].publishedValue else { continue }
                    #expect(shown == count, "\(figures.week) \(town.nisCode) \(types[column])")
                    #expect(shown == 0 || count >= k, "\(figures.week) \(town.nisCode) \(types[column]) from \(count) households")
                    if shown > 0 { published += 1 }
                }
                if let shown = table.rowTotals[row].publishedValue {
                    let households = Set(types.flatMap { truth[town.nisCode]?[$0] ?? [] }).count
                    #expect(shown == cells.reduce(0, +))
                    #expect(shown == 0 || households >= k, "\(figures.week) \(town.nisCode) total from \(households) households")
                }
            }
            for (column, type) in types.enumerated() {
                guard let shown = table.columnTotals[column].publishedValue else { continue }
                let households = statistics.towns.reduce(0) { $0 + (truth[$1.nisCode]?[type]?.count ?? 0) }
                #expect(shown == households && (shown == 0 || households >= k), "\(figures.week) region \(type)")
            }
            if let shown = table.grandTotal.publishedValue {
                let households = statistics.towns.reduce(0) { sum, town in sum + Set(types.flatMap { truth[town.nisCode]?[$0] ?? [] }).count }
                #expect(shown == 0 || households >= k, "\(figures.week) grand total from \(households) households")
            }
        }
        #expect(published > 25, "the generated data should publish many weekly figures, not withhold everything")
        for figures in statistics.months {
            let weeks = statistics.weeks.filter { StatisticsMonth(of: $0.week) == figures.month }
            for (column, type) in types.enumerated() {
                guard let shown = figures.list.entries[column].publishedValue else { continue }
                let households = perMonth[figures.month]?[type]?.count ?? 0
                let weekSum = weeks.reduce(0) { sum, week in
                    sum + statistics.towns.reduce(0) { $0 + ((perCell[week.week]?[$1.nisCode]?[type]?.count) ?? 0) }
                }
                #expect(shown == weekSum)
                #expect(shown == 0 || households >= k, "\(figures.month) \(type) from \(households) households")
            }
            if let shown = figures.list.total.publishedValue {
                #expect(shown == 0 || (perMonthAny[figures.month]?.count ?? 0) >= k)
            }
        }
        for figure in statistics.durations where !figure.quartiles.isSuppressed {
            let households = figure.scope == .region ? durations[figure.measure, default: [:]].values.reduce(0, +)
                : durations[figure.measure]?[figure.scope.code] ?? 0
            #expect(households >= k, "\(figure.measure) \(figure.scope.code) from \(households) households")
            if figure.scope == .region { #expect(figure.households == households) } else { #expect(figure.households == nil) }
        }
        #expect(statistics.durations.contains { $0.scope != .region && !$0.quartiles.isSuppressed })
        for figure in statistics.protectedShares where !figure.percent.isSuppressed {
            #expect((protectedKnown[figure.state] ?? 0) >= k, "\(figure.state)")
        }
        #expect(statistics.protectedShares.contains { !$0.percent.isSuppressed })
        for figure in statistics.outreach {
            let households = contactHouseholds[figure.method]?.count ?? 0
            if let counts = figure.counts.publishedValue {
                #expect(households >= k && counts.households == households, "\(figure.method)")
            }
        }
        #expect(statistics.outreach.first { $0.method == .phone }?.counts.isSuppressed == false)
    }

    @Test func everyWithheldWeeklyAndMonthlyFigureInTheStoreIsProtectedByTheExactAudit() async throws {
        let fixture = try await StatisticsFixture.generated("stats-audit")
        let hub = fixture.hub
        let range = hub.configuration.statistics.effectiveProtectionRange
        let statistics = try #require(try StatisticsStore(path: hub.directory.statistics).load())
        var withheld = 0
        for month in statistics.months {
            let weeks = statistics.weeks.filter { StatisticsMonth(of: $0.week) == month.month }
            let published = PublishedLinkedTables(tables: weeks.map(\.table), sums: month.list)
            for knowledge in [AttackerKnowledge.nonNegativeCounts, .suppressedValuesAreNonZero] {
                let report = try audit(published, assuming: knowledge)
                for (week, table) in zip(weeks, report.tables) {
                    let narrow = table.positionsNarrower(than: range)
                    #expect(narrow.isEmpty, "\(week.week): \(narrow) can be narrowed below \(range)")
                }
                #expect(report.sums.protects(month.list, range: range), "\(month.month)")
            }
            withheld += weeks.reduce(0) { $0 + $1.table.suppressedPositions.count }
        }
        #expect(withheld > 20)
    }

    @Test func twoRebuildsOfTheSameDataGiveByteIdenticalStores() async throws {
        let fixture = try await StatisticsFixture.generated("stats-determinism")
        let hub = fixture.hub
        let first = try #require(FileManager.default.contents(atPath: hub.directory.statistics))
        try await hub.rebuildStatistics()
        let second = try #require(FileManager.default.contents(atPath: hub.directory.statistics))
        #expect(first == second)
        // A hub opened afresh on the same files (another process) builds the same bytes too.
        let again = try Hub(configuration: hub.configuration, dataDirectory: fixture.directory.path, logger: quietLogger)
        try await again.rebuildStatistics()
        #expect(FileManager.default.contents(atPath: hub.directory.statistics) == first)
        #expect(first.count > 4096)
    }

    @Test func theThresholdComesFromTheConfiguration() async throws {
        let fixture = try await StatisticsFixture.generated("stats-k10") { $0.statistics = StatisticsSettings(threshold: 10, protectionRange: 12) }
        let statistics = try #require(try StatisticsStore(path: fixture.hub.directory.statistics).load())
        #expect(statistics.threshold == 10 && statistics.protectionRange == 12)
        for figures in statistics.weeks {
            for row in figures.table.cells { for entry in row { if let value = entry.publishedValue { #expect(value == 0 || value >= 10) } } }
        }
        #expect(statistics.weeks.contains { $0.table.cells.joined().contains { ($0.publishedValue ?? 0) >= 10 } },
                "some counts are published at all")
    }

    @Test func serveRebuildsAtStartOnlyWhenABatchCameAfterTheLastBuildOrThePolicyChanged() async throws {
        let directory = TemporaryDirectory("stats-stale")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, retryBaseDelay: .milliseconds(5))
        #expect(hub.statisticsAreStale(), "no build yet")
        _ = try await hub.fetchAll()
        #expect(hub.statisticsAreStale(), "batches applied, never built")
        try await hub.rebuildStatistics()
        #expect(!hub.statisticsAreStale(), "built after the last batch")
        var stricter = configuration
        stricter.statistics = StatisticsSettings(threshold: configuration.statistics.threshold + 5, protectionRange: 12)
        let sameDataOtherPolicy = try Hub(configuration: stricter, dataDirectory: directory.path, logger: quietLogger, retryBaseDelay: .milliseconds(5))
        #expect(sameDataOtherPolicy.statisticsAreStale(), "built under another threshold")
    }

    /// `waterhub fetch` (from cron) only ingests: the statistics are left to `serve`.
    @Test func anIngestLeavesTheStatisticsToServe() async throws {
        let directory = TemporaryDirectory("stats-ingest")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, retryBaseDelay: .milliseconds(5))
        _ = try await hub.fetchAll()
        #expect(!FileManager.default.fileExists(atPath: hub.directory.statistics), "an ingest leaves the statistics to serve")
        #expect(hub.statisticsAreStale())
    }

    /// A running serve builds at start, then notices a batch that a `waterhub fetch` (cron, another
    /// process) applied later, within a check; and rebuilds once a day even when nothing is stale.
    @Test func serveRebuildsWithinACheckAfterAFetchFromAnotherProcess() async throws {
        let directory = TemporaryDirectory("stats-service")
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        let hub = try Hub(configuration: configuration, dataDirectory: directory.path, logger: quietLogger, retryBaseDelay: .milliseconds(5))
        let service = StatisticsService(hub: hub, checkInterval: .milliseconds(50), dailyInterval: .seconds(2))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func waitUntil(_ condition: () throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while try !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        }
        try await waitUntil { !hub.statisticsAreStale() }
        #expect(try StatisticsStore(path: hub.directory.statistics).load()?.weeks.isEmpty == true, "built at start, before any batch")

        _ = try await hub.fetchAll()    // what `waterhub fetch` from cron does: ingest only
        try await waitUntil { try !hub.statisticsAreStale() && StatisticsStore(path: hub.directory.statistics).load()?.weeks.isEmpty == false }
        #expect(!hub.statisticsAreStale(), "the running service built the statistics after the batches")
        #expect(try StatisticsStore(path: hub.directory.statistics).load()?.weeks.isEmpty == false)

        func built() throws -> Date? { try FileManager.default.attributesOfItem(atPath: hub.directory.statistics)[.modificationDate] as? Date }
        let afterBatches = try built()
        try await waitUntil { try built() != afterBatches }
        #expect(try built() != afterBatches, "rebuilt after the daily interval though nothing was stale")
    }
}
