import WaterHubCore

/// A month as the statistics count it: the ISO weeks whose Thursday falls in that calendar month
/// (four or five whole weeks). Months never share a week, so a month's figure is exactly the sum
/// of its weeks' figures, and a month and its weeks can be protected together.
public struct StatisticsMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The month a week belongs to: the month of its Thursday.
    public init(of week: ISOWeek) {
        let thursday = week.monday.adding(days: 3)
        self.init(year: thursday.year, month: thursday.month)
    }

    /// Parses `YYYY-MM`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
              (1000...9998).contains(year), (1...12).contains(month) else { return nil }
        self.init(year: year, month: month)
    }

    /// The ISO weeks of this month, in order.
    public var weeks: [ISOWeek] {
        var first = CalendarDate(year: year, month: month, day: 1)!
        // The first Thursday on or after the 1st.
        first = first.adding(days: (4 - first.isoWeekday + 7) % 7)
        var weeks: [ISOWeek] = []
        var thursday = first
        while thursday.month == month && thursday.year == year {
            weeks.append(thursday.isoWeek)
            thursday = thursday.adding(days: 7)
        }
        return weeks
    }

    /// `2026-11`.
    public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }

    /// The Dutch name of the month and the year: `november 2026`.
    public var dutchLabel: String { "\(CalendarDate.dutchMonthNames[month - 1]) \(year)" }

    public static func < (lhs: StatisticsMonth, rhs: StatisticsMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }
}

/// A time from one step to another that the cell follows, measured per household in days.
public enum DurationMeasure: String, Sendable, Hashable, CaseIterable, Codable {
    /// From the announcement of a flow limiter to its placement.
    case limitationAnnouncedToPlaced = "limitation_announced_to_placed"
    /// From the placement of a flow limiter to its removal.
    case limitationToRemoval = "limitation_to_removal"
    /// From a disconnection to the reconnection.
    case disconnectionToReconnection = "disconnection_to_reconnection"
    /// From the LAC request (the session date) to the next step of another kind.
    case lacRequestToNextStep = "lac_request_to_next_step"

    /// The step that starts the measure.
    public var start: EventType {
        switch self {
        case .limitationAnnouncedToPlaced: .flowLimitationAnnounced
        case .limitationToRemoval: .flowLimitation
        case .disconnectionToReconnection: .disconnection
        case .lacRequestToNextStep: .lacRequest
        }
    }

    /// The step that ends it; nil for "the next step of another kind".
    public var end: EventType? {
        switch self {
        case .limitationAnnouncedToPlaced: .flowLimitation
        case .limitationToRemoval: .flowLimitationRemoved
        case .disconnectionToReconnection: .reconnection
        case .lacRequestToNextStep: nil
        }
    }

    /// The Dutch label on the dashboard.
    public var dutchLabel: String {
        switch self {
        case .limitationAnnouncedToPlaced: "Aankondiging → plaatsing begrenzer"
        case .limitationToRemoval: "Plaatsing → wegname begrenzer"
        case .disconnectionToReconnection: "Afsluiting → heraansluiting"
        case .lacRequestToNextStep: "Oproeping LAC → volgende stap"
        }
    }
}

/// How many households of a town are in one case state, and how many of them are protected.
public struct ProtectedTally: Sendable, Hashable {
    /// Households whose protected status is known (yes or no).
    public var known = 0
    /// Of those, the protected customers.
    public var protected = 0

    public init(known: Int = 0, protected: Int = 0) {
        self.known = known
        self.protected = protected
    }
}

/// A town's recorded contacts of one method.
public struct ContactTally: Sendable, Hashable {
    /// Contact attempts.
    public var contacts = 0
    /// Distinct households contacted.
    public var households = 0
    /// Attempts that reached the household.
    public var reached = 0

    public init(contacts: Int = 0, households: Int = 0, reached: Int = 0) {
        self.contacts = contacts
        self.households = households
        self.reached = reached
    }
}

/// What the statistics need from one town file: counts of households and anonymous durations,
/// never an id, a key or any personal data. It lives only in memory during a rebuild.
public struct TownObservations: Sendable, Hashable {
    public var tenant: Tenant
    /// Per week and event type: households with at least one current event of that type dated in the week.
    public var householdsPerWeek: [ISOWeek: [EventType: Int]] = [:]
    /// Per week: households with any current event dated in the week.
    public var householdsPerWeekAnyType: [ISOWeek: Int] = [:]
    /// Per month and event type: households with at least one such event in the month's weeks.
    public var householdsPerMonth: [StatisticsMonth: [EventType: Int]] = [:]
    /// Per month: households with any event in the month's weeks.
    public var householdsPerMonthAnyType: [StatisticsMonth: Int] = [:]
    /// Per measure: one duration in days per household that went through both steps.
    public var durations: [DurationMeasure: [Int]] = [:]
    /// Per case state: the households in it whose protected status is known, and the protected ones.
    public var protectedByState: [CaseState: ProtectedTally] = [:]
    /// Per contact method: what the town recorded.
    public var contacts: [ContactMethod: ContactTally] = [:]

    public init(tenant: Tenant) {
        self.tenant = tenant
    }
}

/// Folds a town's current events, one household at a time, into its observations.
///
/// Feed it each household's events sorted by date and arrival, then call `endHousehold()`; the
/// household is never named, only counted.
public struct TownObservationsBuilder: Sendable {
    public private(set) var observations: TownObservations
    private var events: [(type: EventType, date: CalendarDate)] = []

    public init(tenant: Tenant) {
        observations = TownObservations(tenant: tenant)
    }

    /// One current event of the household being read (in date, then arrival order).
    public mutating func add(_ type: EventType, on date: CalendarDate) {
        events.append((type, date))
    }

    /// Ends the household being read: counts it in every week and month it has a step in, and
    /// measures its durations.
    public mutating func endHousehold() {
        guard !events.isEmpty else { return }
        var weekTypes = Set<WeekType>()
        for (type, date) in events { weekTypes.insert(WeekType(week: date.isoWeek, type: type)) }
        // Months from the distinct weeks, not from every event.
        let weeks = Set(weekTypes.map(\.week))
        let monthOfWeek = Dictionary(uniqueKeysWithValues: weeks.map { ($0, StatisticsMonth(of: $0)) })
        let monthTypes = Set(weekTypes.map { MonthType(month: monthOfWeek[$0.week]!, type: $0.type) })
        let months = Set(monthOfWeek.values)
        for key in weekTypes { observations.householdsPerWeek[key.week, default: [:]][key.type, default: 0] += 1 }
        for week in weeks { observations.householdsPerWeekAnyType[week, default: 0] += 1 }
        for key in monthTypes { observations.householdsPerMonth[key.month, default: [:]][key.type, default: 0] += 1 }
        for month in months { observations.householdsPerMonthAnyType[month, default: 0] += 1 }
        for measure in DurationMeasure.allCases {
            if let days = TownObservationsBuilder.duration(measure, in: events) {
                observations.durations[measure, default: []].append(days)
            }
        }
        events.removeAll(keepingCapacity: true)
    }

    /// Records the households of one case state by protected status.
    public mutating func addCases(state: CaseState, protected: ProtectedStatus, households: Int) {
        guard protected != .unknown else { return }
        observations.protectedByState[state, default: ProtectedTally()].known += households
        if protected == .yes { observations.protectedByState[state, default: ProtectedTally()].protected += households }
    }

    /// Records the contacts of one method.
    public mutating func addContacts(method: ContactMethod, tally: ContactTally) {
        observations.contacts[method] = tally
    }

    /// One household's duration for a measure: from its first start step to the first matching end
    /// step on or after it; nil when the household has no such pair.
    static func duration(_ measure: DurationMeasure, in events: [(type: EventType, date: CalendarDate)]) -> Int? {
        guard let startIndex = events.firstIndex(where: { $0.type == measure.start }) else { return nil }
        let start = events[startIndex]
        let end = events[(startIndex + 1)...].first { event in
            event.date >= start.date && (measure.end.map { event.type == $0 } ?? (event.type != measure.start))
        }
        return end.map { start.date.days(until: $0.date) }
    }

    private struct WeekType: Hashable {
        var week: ISOWeek
        var type: EventType
    }

    private struct MonthType: Hashable {
        var month: StatisticsMonth
        var type: EventType
    }
}

/// What the statistics need from the ledger about one source: deliveries and row counts.
public struct FeedObservations: Sendable, Hashable {
    /// The source id and the company's name.
    public var source: String
    public var name: String
    /// The day of the last new file.
    public var lastDelivery: CalendarDate?
    /// Rows read per ISO week of arrival, and of those the ones quarantined.
    public var rowsPerWeek: [ISOWeek: Int]
    public var quarantinedPerWeek: [ISOWeek: Int]

    public init(source: String, name: String, lastDelivery: CalendarDate?, rowsPerWeek: [ISOWeek: Int], quarantinedPerWeek: [ISOWeek: Int]) {
        self.source = source
        self.name = name
        self.lastDelivery = lastDelivery
        self.rowsPerWeek = rowsPerWeek
        self.quarantinedPerWeek = quarantinedPerWeek
    }
}
