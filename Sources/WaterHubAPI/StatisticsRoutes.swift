import Hummingbird
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics
import WaterHubStorage

/// The routes under `/v1/stats/`: the regional cell's published figures, for a `stats` token
/// only. They read the statistics store and nothing else; no town file is ever opened here.
public struct StatisticsRoutes: Sendable {
    let store: StatisticsStore

    public init(store: StatisticsStore) {
        self.store = store
    }

    /// Adds the routes to a group that already authenticates.
    public func add(to group: RouterGroup<HubRequestContext>) {
        let stats = group.group("v1/stats").add(middleware: StatisticsGate())
        stats.get("weekly", use: regionalWeeks)
        stats.get("weekly/{week}", use: weeklyTable)
        stats.get("monthly", use: monthly)
        stats.get("durations", use: durations)
        stats.get("protected", use: protectedShares)
        stats.get("outreach", use: outreach)
        stats.get("feeds", use: feeds)
    }

    /// The overview of the current build; 503 when none exists yet.
    func overview() throws -> PublishedStatistics {
        guard let statistics = try store.loadOverview() else { throw StatisticsAnswer.notBuilt }
        return statistics
    }

    /// `GET /v1/stats/weekly`: per ISO week, the region's households per event type and the total.
    @Sendable func regionalWeeks(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.weeks.count)
        return StatisticsAnswer.answer(
            representation, statistics, name: "weekly", header: ["week"] + PublishedStatistics.columnCodes,
            rows: statistics.weeks.map { [$0.week.description] + StatisticsAnswer.texts($0.table.columnTotals + [$0.table.grandTotal]) }
        ) { json in
            json.array("weeks", statistics.weeks) { figures, json in
                json.member("week", figures.week.description)
                StatisticsAnswer.counts(figures.table.columnTotals, total: figures.table.grandTotal, to: &json)
            }
        }
    }

    /// `GET /v1/stats/weekly/{week}`: one week's table of towns × event types with its totals.
    @Sendable func weeklyTable(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        guard let week = ISOWeek(try context.parameters.require("week")) else {
            throw APIError.badParameter("week", "an ISO week such as 2026-W47")
        }
        guard let (statistics, _, figures) = try store.loadOverview(choosingWeek: { _ in week }) else { throw StatisticsAnswer.notBuilt }
        let table = figures?.table ?? StatisticsAnswer.emptyTable(towns: statistics.towns)
        context.audit.returned(rows: statistics.towns.count + 1)
        let towns = Array(statistics.towns.enumerated())
        return StatisticsAnswer.answer(
            representation, statistics, name: "week-\(week)", header: ["nis", "town"] + PublishedStatistics.columnCodes,
            rows: towns.map { row, town in [town.nisCode, town.name] + StatisticsAnswer.texts(table.cells[row] + [table.rowTotals[row]]) }
                + [["region", "Regio"] + StatisticsAnswer.texts(table.columnTotals + [table.grandTotal])]
        ) { json in
            json.member("week", week.description)
            json.member("from", week.monday.iso)
            json.member("through", week.sunday.iso)
            json.array("towns", towns) { element, json in
                json.member("nis", element.element.nisCode)
                json.member("name", element.element.name)
                StatisticsAnswer.counts(table.cells[element.offset], total: table.rowTotals[element.offset], to: &json)
            }
            json.key("region")
            json.beginObject()
            StatisticsAnswer.counts(table.columnTotals, total: table.grandTotal, to: &json)
            json.endObject()
        }
    }

    /// `GET /v1/stats/monthly`: per month (its ISO weeks), the region's households per event type.
    @Sendable func monthly(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.months.count)
        return StatisticsAnswer.answer(
            representation, statistics, name: "monthly", header: ["month", "first_week", "last_week"] + PublishedStatistics.columnCodes,
            rows: statistics.months.map { figures in
                [figures.month.description, figures.month.weeks.first?.description, figures.month.weeks.last?.description]
                    + figures.list.displayRow()
            }
        ) { json in
            json.array("months", statistics.months) { figures, json in
                json.member("month", figures.month.description)
                json.key("weeks")
                json.beginArray()
                for week in figures.month.weeks { json.value(week.description) }
                json.endArray()
                StatisticsAnswer.counts(figures.list.entries, total: figures.list.total, to: &json)
            }
        }
    }

    /// `GET /v1/stats/durations`: quartiles of each duration, for the region and per town.
    @Sendable func durations(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        let names = Dictionary(uniqueKeysWithValues: statistics.towns.map { ($0.nisCode, $0.name) })
        context.audit.returned(rows: statistics.durations.count)
        func days(_ figure: DurationFigure, separator: String) -> [String?] {
            let quartiles = figure.quartiles.publishedValue
            return [quartiles?.first, quartiles?.median, quartiles?.third].map { $0.map { StatisticsAnswer.days($0, decimalSeparator: separator) } }
        }
        return StatisticsAnswer.answer(
            representation, statistics, name: "durations", header: ["measure", "scope", "name", "households", "q1_days", "median_days", "q3_days"],
            rows: statistics.durations.map { figure in
                [figure.measure.rawValue, figure.scope.code, names[figure.scope.code] ?? "Regio",
                 figure.households.map(String.init) ?? (figure.scope == .region ? "x" : "")] + days(figure, separator: ",").map { $0 ?? "x" }
            }
        ) { json in
            json.array("durations", statistics.durations) { figure, json in
                json.member("measure", figure.measure.rawValue)
                json.member("scope", figure.scope.code)
                json.member("name", names[figure.scope.code] ?? "Regio")
                json.key("households"); json.value(figure.households.map { Int64($0) })
                for (name, value) in zip(["q1_days", "median_days", "q3_days"], days(figure, separator: ".")) {
                    json.key(name)
                    if let value { json.value(decimal: value) } else { json.null() }
                }
            }
        }
    }

    /// `GET /v1/stats/protected`: per case state, the share of protected customers (whole percent).
    @Sendable func protectedShares(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.protectedShares.count)
        return StatisticsAnswer.answer(
            representation, statistics, name: "protected", header: ["state", "label", "protected_percent"],
            rows: statistics.protectedShares.map { [$0.state.rawValue, $0.state.dutchLabel, StatisticsAnswer.text($0.percent)] }
        ) { json in
            json.array("states", statistics.protectedShares) { figure, json in
                json.member("state", figure.state.rawValue)
                json.member("label", figure.state.dutchLabel)
                json.key("protected_percent"); json.value(figure.percent.publishedValue.map { Int64($0) })
            }
        }
    }

    /// `GET /v1/stats/outreach`: per contact method across towns, households, contacts and reach rate.
    @Sendable func outreach(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.outreach.count)
        func numbers(_ figure: OutreachFigure) -> [Int?] {
            let counts = figure.counts.publishedValue
            return [counts?.households, counts?.contacts, counts?.reachedPercent]
        }
        return StatisticsAnswer.answer(
            representation, statistics, name: "outreach", header: ["method", "label", "households", "contacts", "reached_percent"],
            rows: statistics.outreach.map { [$0.method.rawValue, $0.method.dutchLabel] + numbers($0).map { $0.map(String.init) ?? "x" } }
        ) { json in
            json.array("methods", statistics.outreach) { figure, json in
                json.member("method", figure.method.rawValue)
                json.member("label", figure.method.dutchLabel)
                for (name, value) in zip(["households", "contacts", "reached_percent"], numbers(figure)) {
                    json.key(name)
                    json.value(value.map { Int64($0) })
                }
            }
        }
    }

    /// `GET /v1/stats/feeds`: per source, last delivery, rows per week (rounded to tens), share quarantined.
    @Sendable func feeds(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.feeds.count)
        return StatisticsAnswer.answer(
            representation, statistics, name: "feeds", header: ["source", "name", "last_delivery", "quarantined_percent", "week", "rows_rounded"],
            rows: statistics.feeds.flatMap { feed in
                feed.roundedRowsPerWeek.keys.sorted().map { week in
                    [feed.source, feed.name, feed.lastDelivery?.iso, feed.quarantinedPercent.map(String.init), week.description,
                     String(feed.roundedRowsPerWeek[week]!)]
                }
            }
        ) { json in
            json.array("feeds", statistics.feeds) { feed, json in
                json.member("source", feed.source)
                json.member("name", feed.name)
                json.key("last_delivery"); json.value(feed.lastDelivery?.iso)
                json.key("quarantined_percent"); json.value(feed.quarantinedPercent.map { Int64($0) })
                json.array("rows_per_week", feed.roundedRowsPerWeek.keys.sorted()) { week, json in
                    json.member("week", week.description)
                    json.key("rows"); json.value(feed.roundedRowsPerWeek[week]!)
                }
            }
        }
    }
}

/// Lets a request through to `/v1/stats/…` only with a `stats` token. A town's token gets 404,
/// the same answer a town gets for a town not its own: outside its own slice, nothing exists.
struct StatisticsGate: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        guard let token = context.identity, token.readsStatistics else { throw APIError.notFound }
        return try await next(request, context)
    }
}

/// How the statistics are written: one marker for every withheld figure (`null` in JSON, `x` in
/// CSV), whatever the reason.
enum StatisticsAnswer {
    static let notBuilt = HTTPError(.serviceUnavailable, headers: [.retryAfter: "60"],
                                    message: "the statistics have not been built yet; the hub builds them when it starts and after every ingest")

    static func representation(_ request: Request) throws -> Representation {
        let query = try StrictQuery(request, allowed: ["format"])
        return try Representation.negotiate(query, request, offered: [.json, .csv])
    }

    static func text(_ entry: Disclosed<Int>) -> String { entry.displayText(suppressedMarker: "x") }

    static func texts(_ entries: [Disclosed<Int>]) -> [String?] { entries.map(text) }

    /// One answer: CSV from the rows (made only for CSV), or JSON from the common header and `body`.
    static func answer(_ representation: Representation, _ statistics: PublishedStatistics, name: String, header: [String],
                       rows: @autoclosure () -> [[String?]], json body: (inout JSONWriter) -> Void) -> Response {
        if representation == .csv {
            var writer = CSVWriter(buffer: ByteBuffer())
            writer.begin(header: header)
            for row in rows() {
                for field in row { writer.field(field) }
                writer.endRow()
            }
            return .csv(writer.buffer, filename: "waterhub-stats-\(name).csv")
        }
        var json = begin(statistics)
        body(&json)
        json.endObject()
        return .json(json)
    }

    /// A duration in days from hundredths of a day: `12.25`, or `12,25` for a spreadsheet.
    static func days(_ centidays: Int, decimalSeparator: String) -> String {
        let whole = centidays / 100, rest = centidays % 100
        if rest == 0 { return String(whole) }
        let fraction = rest % 10 == 0 ? String(rest / 10) : (rest < 10 ? "0\(rest)" : String(rest))
        return "\(whole)\(decimalSeparator)\(fraction)"
    }

    /// The object every JSON answer starts with: the rules the figures were published under.
    static func begin(_ statistics: PublishedStatistics) -> JSONWriter {
        var json = JSONWriter()
        json.beginObject()
        json.key("threshold"); json.value(statistics.threshold)
        json.key("protection_range"); json.value(statistics.protectionRange)
        json.key("data_through"); json.value(statistics.dataThrough?.iso)
        return json
    }

    /// `"households": {type: n | null, …}, "total": n | null`.
    static func counts(_ entries: [Disclosed<Int>], total: Disclosed<Int>, to json: inout JSONWriter) {
        json.key("households")
        json.beginObject()
        for (type, entry) in zip(PublishedStatistics.eventTypes, entries) {
            json.key(type.rawValue)
            json.value(entry.publishedValue.map(Int64.init))
        }
        json.endObject()
        json.key("total"); json.value(total.publishedValue.map(Int64.init))
    }

    /// A week without any step: every figure is 0 (zeros are always published).
    static func emptyTable(towns: [Tenant]) -> PublishedTable {
        let columns = PublishedStatistics.eventTypes.count
        return try! PublishedTable(rowLabels: towns.map(\.nisCode), columnLabels: PublishedStatistics.eventTypes.map(\.rawValue),
                                   cells: towns.map { _ in Array(repeating: .published(0), count: columns) },
                                   rowTotals: towns.map { _ in .published(0) }, columnTotals: Array(repeating: .published(0), count: columns),
                                   grandTotal: .published(0))
    }
}

extension JSONWriter {
    /// `"name": [ {…}, … ]`, one object per element, written by `body`.
    mutating func array<Elements: Sequence>(_ name: String, _ elements: Elements, _ body: (Elements.Element, inout JSONWriter) -> Void) {
        key(name)
        beginArray()
        for element in elements {
            beginObject()
            body(element, &self)
            endObject()
        }
        endArray()
    }
}
