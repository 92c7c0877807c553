import WaterHubCore
import WaterHubDisclosure

/// Everything the regional cell may see: figures that have passed disclosure control, with the
/// labels to show them. Holds no personal data, no household key and no figure from fewer than
/// k households; a withheld figure is only "withheld", never why.
public struct PublishedStatistics: Sendable, Hashable {
    /// The rules the figures were published under.
    public var threshold: Int
    public var protectionRange: Int
    /// The towns, in the order of the tables' rows.
    public var towns: [Tenant]
    /// The last day with a step in the data (nil when there is none).
    public var dataThrough: CalendarDate?
    /// One table per ISO week with at least one step: towns × event types with their totals.
    public var weeks: [WeeklyFigures]
    /// One list per month (its ISO weeks): the region's households per event type, with the total.
    public var months: [MonthlyFigures]
    /// Quartiles of each duration, for the region and for every town with enough households.
    public var durations: [DurationFigure]
    /// Per case state, the share of protected customers among the region's households in it.
    public var protectedShares: [ProtectedShareFigure]
    /// Per contact method, across towns.
    public var outreach: [OutreachFigure]
    /// Per source: last delivery, rows per week (rounded), share quarantined.
    public var feeds: [FeedFigure]

    public init(threshold: Int, protectionRange: Int, towns: [Tenant], dataThrough: CalendarDate?, weeks: [WeeklyFigures],
                months: [MonthlyFigures], durations: [DurationFigure], protectedShares: [ProtectedShareFigure],
                outreach: [OutreachFigure], feeds: [FeedFigure]) {
        self.threshold = threshold
        self.protectionRange = protectionRange
        self.towns = towns
        self.dataThrough = dataThrough
        self.weeks = weeks
        self.months = months
        self.durations = durations
        self.protectedShares = protectedShares
        self.outreach = outreach
        self.feeds = feeds
    }

    /// The event types, in the order of the tables' columns.
    public static let eventTypes = EventType.allCases
    /// The codes of the columns of a weekly or monthly count: the event types, then `total`.
    public static let columnCodes = eventTypes.map(\.rawValue) + ["total"]
}

/// One ISO week's table: rows are the towns, columns the event types (households per cell).
public struct WeeklyFigures: Sendable, Hashable {
    public var week: ISOWeek
    public var table: PublishedTable

    public init(week: ISOWeek, table: PublishedTable) {
        self.week = week
        self.table = table
    }
}

/// One month's regional list: households per event type, summed over the month's weeks, and the total.
public struct MonthlyFigures: Sendable, Hashable {
    public var month: StatisticsMonth
    public var list: PublishedList

    public init(month: StatisticsMonth, list: PublishedList) {
        self.month = month
        self.list = list
    }
}

/// The first quartile, the median and the third quartile of a duration, in hundredths of a day
/// (exact: the quartiles of whole days are multiples of a quarter day).
public struct Quartiles: Sendable, Hashable {
    public var first: Int
    public var median: Int
    public var third: Int

    public init(first: Int, median: Int, third: Int) {
        self.first = first
        self.median = median
        self.third = third
    }

    /// The quartiles of whole numbers of days (linear interpolation between closest ranks, as
    /// most statistics packages do by default); nil for no values.
    public init?(days values: [Int]) {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return nil }
        func quantile(_ quarters: Int) -> Int {
            // position h = (n - 1) × quarters / 4, in quarters of a rank.
            let scaled = (sorted.count - 1) * quarters
            let lower = scaled / 4, fraction = scaled % 4
            let base = sorted[lower] * 100
            guard fraction > 0 else { return base }
            return base + (sorted[lower + 1] - sorted[lower]) * 25 * fraction
        }
        self.init(first: quantile(1), median: quantile(2), third: quantile(3))
    }
}

/// Where a figure is about: the whole region or one town (by NIS code).
public enum StatisticsScope: Sendable, Hashable, Comparable {
    case region
    case town(String)

    /// `region` or the NIS code.
    public var code: String {
        switch self {
        case .region: "region"
        case .town(let nis): nis
        }
    }

    public init(code: String) {
        self = code == "region" ? .region : .town(code)
    }

    // Ordered as declared (the region first), then towns by code: the synthesized `<`.
}

/// The quartiles of one duration for one scope. The number of households is given for the region
/// only: town counts could be subtracted from it.
public struct DurationFigure: Sendable, Hashable {
    public var measure: DurationMeasure
    public var scope: StatisticsScope
    /// The region's households behind the figure (nil for a town, and when withheld).
    public var households: Int?
    public var quartiles: Disclosed<Quartiles>

    public init(measure: DurationMeasure, scope: StatisticsScope, households: Int?, quartiles: Disclosed<Quartiles>) {
        self.measure = measure
        self.scope = scope
        self.households = households
        self.quartiles = quartiles
    }
}

/// The share of protected customers among the region's households in one case state (whole percent).
public struct ProtectedShareFigure: Sendable, Hashable {
    public var state: CaseState
    public var percent: Disclosed<Int>

    public init(state: CaseState, percent: Disclosed<Int>) {
        self.state = state
        self.percent = percent
    }
}

/// What one contact method achieved across towns.
public struct OutreachCounts: Sendable, Hashable {
    /// Households contacted with this method.
    public var households: Int
    /// Contact attempts.
    public var contacts: Int
    /// Attempts that reached the household, in whole percent.
    public var reachedPercent: Int

    public init(households: Int, contacts: Int, reachedPercent: Int) {
        self.households = households
        self.contacts = contacts
        self.reachedPercent = reachedPercent
    }
}

/// One contact method's figures, published only from at least k households.
public struct OutreachFigure: Sendable, Hashable {
    public var method: ContactMethod
    public var counts: Disclosed<OutreachCounts>

    public init(method: ContactMethod, counts: Disclosed<OutreachCounts>) {
        self.method = method
        self.counts = counts
    }
}

/// How one water company's feed is doing. Row counts are rounded to tens: the cell needs to see
/// whether a feed is alive and how big it is, not a count that could be set against a town's table.
public struct FeedFigure: Sendable, Hashable {
    public var source: String
    public var name: String
    public var lastDelivery: CalendarDate?
    /// Rows received per ISO week of arrival (the last weeks of the data), rounded to tens.
    public var roundedRowsPerWeek: [ISOWeek: Int]
    /// The share of rows quarantined over those weeks, in whole percent (nil without rows).
    public var quarantinedPercent: Int?

    public init(source: String, name: String, lastDelivery: CalendarDate?, roundedRowsPerWeek: [ISOWeek: Int], quarantinedPercent: Int?) {
        self.source = source
        self.name = name
        self.lastDelivery = lastDelivery
        self.roundedRowsPerWeek = roundedRowsPerWeek
        self.quarantinedPercent = quarantinedPercent
    }
}
