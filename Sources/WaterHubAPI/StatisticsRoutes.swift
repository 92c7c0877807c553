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
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["week"] + PublishedStatistics.eventTypes.map(\.rawValue) + ["total"])
            for figures in statistics.weeks {
                csv.field(figures.week.description)
                for entry in figures.table.columnTotals + [figures.table.grandTotal] { csv.field(StatisticsAnswer.text(entry)) }
                csv.endRow()
            }
            return StatisticsAnswer.csv(csv, name: "weekly")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("weeks")
        json.beginArray()
        for figures in statistics.weeks {
            json.beginObject()
            json.member("week", figures.week.description)
            StatisticsAnswer.counts(figures.table.columnTotals, total: figures.table.grandTotal, to: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/weekly/{week}`: one week's table of towns × event types with its totals.
    @Sendable func weeklyTable(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        guard let week = ISOWeek(try context.parameters.require("week")) else {
            throw APIError.badParameter("week", "an ISO week such as 2026-W47")
        }
        let statistics = try overview()
        let table = try store.weeklyTable(week)?.table ?? StatisticsAnswer.emptyTable(towns: statistics.towns)
        context.audit.returned(rows: statistics.towns.count + 1)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["nis", "town"] + PublishedStatistics.eventTypes.map(\.rawValue) + ["total"])
            for (row, town) in statistics.towns.enumerated() {
                csv.field(town.nisCode)
                csv.field(town.name)
                for entry in table.cells[row] + [table.rowTotals[row]] { csv.field(StatisticsAnswer.text(entry)) }
                csv.endRow()
            }
            csv.field("region")
            csv.field("Regio")
            for entry in table.columnTotals + [table.grandTotal] { csv.field(StatisticsAnswer.text(entry)) }
            csv.endRow()
            return StatisticsAnswer.csv(csv, name: "week-\(week)")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.member("week", week.description)
        json.member("from", week.monday.iso)
        json.member("through", week.sunday.iso)
        json.key("towns")
        json.beginArray()
        for (row, town) in statistics.towns.enumerated() {
            json.beginObject()
            json.member("nis", town.nisCode)
            json.member("name", town.name)
            StatisticsAnswer.counts(table.cells[row], total: table.rowTotals[row], to: &json)
            json.endObject()
        }
        json.endArray()
        json.key("region")
        json.beginObject()
        StatisticsAnswer.counts(table.columnTotals, total: table.grandTotal, to: &json)
        json.endObject()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/monthly`: per month (its ISO weeks), the region's households per event type.
    @Sendable func monthly(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.months.count)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["month", "first_week", "last_week"] + PublishedStatistics.eventTypes.map(\.rawValue) + ["total"])
            for figures in statistics.months {
                csv.field(figures.month.description)
                csv.field(figures.month.weeks.first?.description)
                csv.field(figures.month.weeks.last?.description)
                for entry in figures.list.entries + [figures.list.total] { csv.field(StatisticsAnswer.text(entry)) }
                csv.endRow()
            }
            return StatisticsAnswer.csv(csv, name: "monthly")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("months")
        json.beginArray()
        for figures in statistics.months {
            json.beginObject()
            json.member("month", figures.month.description)
            json.key("weeks")
            json.beginArray()
            for week in figures.month.weeks { json.value(week.description) }
            json.endArray()
            StatisticsAnswer.counts(figures.list.entries, total: figures.list.total, to: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/durations`: quartiles of each duration, for the region and per town.
    @Sendable func durations(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        let names = Dictionary(uniqueKeysWithValues: statistics.towns.map { ($0.nisCode, $0.name) })
        context.audit.returned(rows: statistics.durations.count)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["measure", "scope", "name", "households", "q1_days", "median_days", "q3_days"])
            for figure in statistics.durations {
                let quartiles = figure.quartiles.publishedValue
                csv.field(figure.measure.rawValue)
                csv.field(figure.scope.code)
                csv.field(names[figure.scope.code] ?? "Regio")
                csv.field(figure.households.map(String.init) ?? (figure.scope == .region ? "x" : ""))
                for value in [quartiles?.first, quartiles?.median, quartiles?.third] {
                    csv.field(value.map { StatisticsAnswer.days($0, decimalSeparator: ",") } ?? "x")
                }
                csv.endRow()
            }
            return StatisticsAnswer.csv(csv, name: "durations")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("durations")
        json.beginArray()
        for figure in statistics.durations {
            let quartiles = figure.quartiles.publishedValue
            json.beginObject()
            json.member("measure", figure.measure.rawValue)
            json.member("scope", figure.scope.code)
            json.member("name", names[figure.scope.code] ?? "Regio")
            json.key("households"); json.value(figure.households.map(Int64.init))
            for (name, value) in [("q1_days", quartiles?.first), ("median_days", quartiles?.median), ("q3_days", quartiles?.third)] {
                json.key(name)
                if let value { json.value(decimal: StatisticsAnswer.days(value, decimalSeparator: ".")) } else { json.null() }
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/protected`: per case state, the share of protected customers (whole percent).
    @Sendable func protectedShares(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.protectedShares.count)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["state", "label", "protected_percent"])
            for figure in statistics.protectedShares {
                csv.field(figure.state.rawValue)
                csv.field(figure.state.dutchLabel)
                csv.field(StatisticsAnswer.text(figure.percent))
                csv.endRow()
            }
            return StatisticsAnswer.csv(csv, name: "protected")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("states")
        json.beginArray()
        for figure in statistics.protectedShares {
            json.beginObject()
            json.member("state", figure.state.rawValue)
            json.member("label", figure.state.dutchLabel)
            json.key("protected_percent"); json.value(figure.percent.publishedValue.map(Int64.init))
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/outreach`: per contact method across towns, households, contacts and reach rate.
    @Sendable func outreach(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.outreach.count)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["method", "label", "households", "contacts", "reached_percent"])
            for figure in statistics.outreach {
                let counts = figure.counts.publishedValue
                csv.field(figure.method.rawValue)
                csv.field(figure.method.dutchLabel)
                for value in [counts?.households, counts?.contacts, counts?.reachedPercent] { csv.field(value.map(String.init) ?? "x") }
                csv.endRow()
            }
            return StatisticsAnswer.csv(csv, name: "outreach")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("methods")
        json.beginArray()
        for figure in statistics.outreach {
            let counts = figure.counts.publishedValue
            json.beginObject()
            json.member("method", figure.method.rawValue)
            json.member("label", figure.method.dutchLabel)
            json.key("households"); json.value(counts.map { Int64($0.households) })
            json.key("contacts"); json.value(counts.map { Int64($0.contacts) })
            json.key("reached_percent"); json.value(counts.map { Int64($0.reachedPercent) })
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    /// `GET /v1/stats/feeds`: per source, last delivery, rows per week (rounded to tens), share quarantined.
    @Sendable func feeds(_ request: Request, context: HubRequestContext) async throws -> Response {
        let representation = try StatisticsAnswer.representation(request)
        let statistics = try overview()
        context.audit.returned(rows: statistics.feeds.count)
        if representation == .csv {
            var csv = CSVWriter(buffer: ByteBuffer())
            csv.begin(header: ["source", "name", "last_delivery", "quarantined_percent", "week", "rows_rounded"])
            for feed in statistics.feeds {
                for week in feed.roundedRowsPerWeek.keys.sorted() {
                    csv.field(feed.source)
                    csv.field(feed.name)
                    csv.field(feed.lastDelivery?.iso)
                    csv.field(feed.quarantinedPercent.map(String.init))
                    csv.field(week.description)
                    csv.field(Int64(feed.roundedRowsPerWeek[week]!))
                    csv.endRow()
                }
            }
            return StatisticsAnswer.csv(csv, name: "feeds")
        }
        var json = StatisticsAnswer.begin(statistics)
        json.key("feeds")
        json.beginArray()
        for feed in statistics.feeds {
            json.beginObject()
            json.member("source", feed.source)
            json.member("name", feed.name)
            json.key("last_delivery"); json.value(feed.lastDelivery?.iso)
            json.key("quarantined_percent"); json.value(feed.quarantinedPercent.map(Int64.init))
            json.key("rows_per_week")
            json.beginArray()
            for week in feed.roundedRowsPerWeek.keys.sorted() {
                json.beginObject()
                json.member("week", week.description)
                json.key("rows"); json.value(feed.roundedRowsPerWeek[week]!)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json)
    }
}

/// Lets a request through to `/v1/stats/…` only with a `stats` token. A town's token gets 404,
/// the same answer a town gets for a town not its own: outside its own slice, nothing exists.
struct StatisticsGate: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        guard let token = context.identity, token.scope == .stats, token.tenant == nil else { throw APIError.notFound }
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

    /// A duration in days from hundredths of a day: `12.25`, or `12,25` for a spreadsheet.
    static func days(_ centidays: Int, decimalSeparator: String) -> String {
        let whole = centidays / 100, rest = centidays % 100
        if rest == 0 { return String(whole) }
        let fraction = rest % 10 == 0 ? String(rest / 10) : (rest < 10 ? "0\(rest)" : String(rest))
        return "\(whole)\(decimalSeparator)\(fraction)"
    }

    /// The object every JSON answer starts with: the rules the figures were published under.
    static func begin(_ statistics: PublishedStatistics) -> JSONWriter {
        var json = JSONWriter(buffer: ByteBuffer())
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

    static func csv(_ csv: CSVWriter, name: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8; header=present",
                                        .contentDisposition: "attachment; filename=\"waterhub-stats-\(name).csv\""],
                 body: .init(byteBuffer: csv.buffer))
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
