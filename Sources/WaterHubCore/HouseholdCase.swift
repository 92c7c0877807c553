/// Where a household stands, as the OCMW follows it up: the state its latest step put it in.
public enum CaseState: String, Sendable, Hashable, Codable, CaseIterable {
    case invited
    case warned
    case paymentPlanFailed = "payment_plan_failed"
    case limitationAnnounced = "limitation_announced"
    case limited
    case limiterRemoved = "limiter_removed"
    case disconnectionIntended = "disconnection_intended"
    case disconnected
    case reconnected

    /// The state an event of this type leads to.
    public init(after type: EventType) {
        switch type {
        case .lacRequest: self = .invited
        case .warningLetter: self = .warned
        case .paymentPlanFailed: self = .paymentPlanFailed
        case .flowLimitationAnnounced: self = .limitationAnnounced
        case .flowLimitation: self = .limited
        case .flowLimitationRemoved: self = .limiterRemoved
        case .intentToDisconnect: self = .disconnectionIntended
        case .disconnection: self = .disconnected
        case .reconnection: self = .reconnected
        }
    }

    /// States after which the company takes no further step: the case is closed (its personal
    /// data is purged after the retention period).
    public var isClosed: Bool { self == .limiterRemoved || self == .reconnected }

    /// The Dutch label the social workers use.
    public var dutchLabel: String {
        switch self {
        case .invited: "Uitgenodigd voor LAC"
        case .warned: "Verwittigd"
        case .paymentPlanFailed: "Betaalplan niet nageleefd"
        case .limitationAnnounced: "Begrenzer aangekondigd"
        case .limited: "Begrenzer geplaatst"
        case .limiterRemoved: "Begrenzer weggenomen"
        case .disconnectionIntended: "Intentie tot afsluiting"
        case .disconnected: "Afgesloten"
        case .reconnected: "Heraangesloten"
        }
    }
}

/// A household's case (dossier): its latest state, the date of each step, and what the hub
/// last heard about its arrears and protected status. Derived from the household's events.
public struct HouseholdCase: Sendable, Hashable {
    public var state: CaseState
    /// The latest date of each step the household went through.
    public var stepDates: [EventType: CalendarDate]
    /// The first and the latest event date.
    public var openedOn: CalendarDate
    public var lastEventOn: CalendarDate
    /// The arrears of the latest event that gave an amount.
    public var amountDueCents: Int64?
    /// The protected status of the latest event that knew it.
    public var protectedCustomer: ProtectedStatus
    /// How many (current) events the case is made of.
    public var eventCount: Int
    /// The arrival order of the step that set the state, to order events on the same day.
    public private(set) var stateOrder: (date: CalendarDate, seq: Int64)

    /// A case as stored (the storage layer reads it back with this).
    public init(state: CaseState, stepDates: [EventType: CalendarDate], openedOn: CalendarDate, lastEventOn: CalendarDate,
                amountDueCents: Int64?, protectedCustomer: ProtectedStatus, eventCount: Int, stateOrder: (date: CalendarDate, seq: Int64)) {
        self.state = state
        self.stepDates = stepDates
        self.openedOn = openedOn
        self.lastEventOn = lastEventOn
        self.amountDueCents = amountDueCents
        self.protectedCustomer = protectedCustomer
        self.eventCount = eventCount
        self.stateOrder = stateOrder
    }

    /// A case from its first event.
    public init(first event: Event, seq: Int64) {
        state = CaseState(after: event.type)
        stepDates = [event.type: event.eventDate]
        openedOn = event.eventDate
        lastEventOn = event.eventDate
        amountDueCents = event.amountDueCents
        protectedCustomer = event.protectedCustomer
        eventCount = 1
        stateOrder = (event.eventDate, seq)
    }

    /// The case built from all of a household's current events, in any order.
    public init?(events: some Sequence<(event: Event, seq: Int64)>) {
        let sorted = events.sorted { ($0.event.eventDate, $0.seq) < ($1.event.eventDate, $1.seq) }
        guard let first = sorted.first else { return nil }
        self.init(first: first.event, seq: first.seq)
        for (event, seq) in sorted.dropFirst() { fold(event, seq: seq) }
    }

    /// Adds a later-arriving event. The state follows the event with the latest date (ties go to
    /// the one that arrived last), so a late-reported old step does not undo a newer one.
    public mutating func fold(_ event: Event, seq: Int64) {
        eventCount += 1
        stepDates[event.type] = max(stepDates[event.type] ?? event.eventDate, event.eventDate)
        openedOn = min(openedOn, event.eventDate)
        if (event.eventDate, seq) >= stateOrder {
            state = CaseState(after: event.type)
            stateOrder = (event.eventDate, seq)
            lastEventOn = event.eventDate
            if let amount = event.amountDueCents { amountDueCents = amount }
            if event.protectedCustomer != .unknown { protectedCustomer = event.protectedCustomer }
        } else {
            if amountDueCents == nil { amountDueCents = event.amountDueCents }
            if protectedCustomer == .unknown { protectedCustomer = event.protectedCustomer }
        }
    }

    /// Days since the latest step, as of `today`.
    public func daysSinceLastStep(today: CalendarDate) -> Int { lastEventOn.days(until: today) }

    public static func == (lhs: HouseholdCase, rhs: HouseholdCase) -> Bool {
        lhs.state == rhs.state && lhs.stepDates == rhs.stepDates && lhs.openedOn == rhs.openedOn
            && lhs.lastEventOn == rhs.lastEventOn && lhs.amountDueCents == rhs.amountDueCents
            && lhs.protectedCustomer == rhs.protectedCustomer && lhs.eventCount == rhs.eventCount
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(state)
        hasher.combine(lastEventOn)
        hasher.combine(eventCount)
    }
}
