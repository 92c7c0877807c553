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
    public var stepDates: StepDates
    /// The first and the latest event date.
    public var openedOn: CalendarDate
    public var lastEventOn: CalendarDate
    /// The arrears of the latest event that gave an amount.
    public var amountDueCents: Int64?
    /// The protected status of the latest event that knew it.
    public var protectedCustomer: ProtectedStatus
    /// How many (current) events the case is made of.
    public var eventCount: Int
    /// The (date, arrival) order of the events that set the state, the amount and the protected
    /// status: each follows the latest event that has it, whatever order the events arrive in.
    public private(set) var stateOrder: EventOrder
    public private(set) var amountOrder: EventOrder?
    public private(set) var protectedOrder: EventOrder?

    /// A case as stored (the storage layer reads it back with this).
    public init(state: CaseState, stepDates: StepDates, openedOn: CalendarDate, lastEventOn: CalendarDate,
                amountDueCents: Int64?, protectedCustomer: ProtectedStatus, eventCount: Int, stateOrder: EventOrder,
                amountOrder: EventOrder?, protectedOrder: EventOrder?) {
        self.state = state
        self.stepDates = stepDates
        self.openedOn = openedOn
        self.lastEventOn = lastEventOn
        self.amountDueCents = amountDueCents
        self.protectedCustomer = protectedCustomer
        self.eventCount = eventCount
        self.stateOrder = stateOrder
        self.amountOrder = amountOrder
        self.protectedOrder = protectedOrder
    }

    /// A case from its first event.
    public init(first event: Event, seq: Int64) {
        self.init(first: CaseStep(event, seq: seq))
    }

    /// A case from its first event, given by the parts a case uses.
    public init(first step: CaseStep) {
        state = CaseState(after: step.type)
        stepDates = [step.type: step.date]
        openedOn = step.date
        lastEventOn = step.date
        amountDueCents = step.amountDueCents
        protectedCustomer = step.protected
        eventCount = 1
        let order = step.order
        stateOrder = order
        amountOrder = step.amountDueCents == nil ? nil : order
        protectedOrder = step.protected == .unknown ? nil : order
    }

    /// The case built from all of a household's current events, in any order.
    public init?(events: some Sequence<(event: Event, seq: Int64)>) {
        self.init(steps: events.map { CaseStep($0.event, seq: $0.seq) })
    }

    /// The case built from the parts a case uses of all of a household's current events, in any order.
    public init?(steps: [CaseStep]) {
        let sorted = steps.sorted { $0.order < $1.order }
        guard let first = sorted.first else { return nil }
        self.init(first: first)
        for step in sorted.dropFirst() { fold(step) }
    }

    /// Adds a later-arriving event. The state follows the event with the latest date (ties go to
    /// the one that arrived last), so a late-reported old step does not undo a newer one.
    public mutating func fold(_ event: Event, seq: Int64) {
        fold(CaseStep(event, seq: seq))
    }

    /// Adds a later-arriving event, given by the parts a case uses.
    public mutating func fold(_ step: CaseStep) {
        eventCount += 1
        stepDates.raise(step.type, to: step.date)
        openedOn = min(openedOn, step.date)
        let order = step.order
        if order >= stateOrder {
            state = CaseState(after: step.type)
            stateOrder = order
            lastEventOn = step.date
        }
        if let amount = step.amountDueCents, amountOrder.map({ order >= $0 }) ?? true {
            amountDueCents = amount
            amountOrder = order
        }
        if step.protected != .unknown, protectedOrder.map({ order >= $0 }) ?? true {
            protectedCustomer = step.protected
            protectedOrder = order
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

/// What a case takes from one event: its step, date, amount and protected status, and its
/// arrival (the town's sequence number).
public struct CaseStep: Sendable, Hashable {
    public var type: EventType
    public var date: CalendarDate
    public var amountDueCents: Int64?
    public var protected: ProtectedStatus
    public var seq: Int64

    public init(type: EventType, date: CalendarDate, amountDueCents: Int64?, protected: ProtectedStatus, seq: Int64) {
        self.type = type
        self.date = date
        self.amountDueCents = amountDueCents
        self.protected = protected
        self.seq = seq
    }

    public init(_ event: Event, seq: Int64) {
        self.init(type: event.type, date: event.eventDate, amountDueCents: event.amountDueCents, protected: event.protectedCustomer, seq: seq)
    }

    /// Where the event stands among the household's: by date, then by arrival.
    public var order: EventOrder { EventOrder(date: date, seq: seq) }
}

/// Orders a household's events: by date, then by arrival (the town's sequence number).
public struct EventOrder: Sendable, Hashable, Comparable {
    public let date: CalendarDate
    public let seq: Int64

    public init(date: CalendarDate, seq: Int64) {
        self.date = date
        self.seq = seq
    }

    public static func < (lhs: EventOrder, rhs: EventOrder) -> Bool { (lhs.date, lhs.seq) < (rhs.date, rhs.seq) }
}

/// The latest date of each step a household went through: one slot per event type, held in
/// place. A case is folded once per event while a batch is applied; a dictionary per case cost
/// a heap allocation, and hashing at every fold.
public struct StepDates: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// Each step's date as year·512 + month·32 + day, in `stepOrder`; 0 when the household had
    /// no such step. (Nine steps: a tenth makes `StepDatesTests` fail until this grows.)
    private var packed = InlineArray<9, Int32>(repeating: 0)

    public init() {}

    public init(dictionaryLiteral elements: (EventType, CalendarDate)...) {
        for (type, date) in elements { self[type] = date }
    }

    public subscript(type: EventType) -> CalendarDate? {
        get { StepDates.unpack(packed[type.stepOrder]) }
        set { packed[type.stepOrder] = newValue.map(StepDates.pack) ?? 0 }
    }

    /// Sets the step's date to `date` unless it has a later one.
    public mutating func raise(_ type: EventType, to date: CalendarDate) {
        let slot = type.stepOrder, value = StepDates.pack(date)
        if value > packed[slot] { packed[slot] = value }
    }

    /// The steps the household went through, with their dates, in step order.
    public func makeIterator() -> some IteratorProtocol<(type: EventType, date: CalendarDate)> {
        EventType.allCases.lazy.compactMap { type in self[type].map { (type: type, date: $0) } }.makeIterator()
    }

    public static func == (lhs: StepDates, rhs: StepDates) -> Bool {
        for slot in lhs.packed.indices where lhs.packed[slot] != rhs.packed[slot] { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for slot in packed.indices { hasher.combine(packed[slot]) }
    }

    /// Packed dates (`CalendarDate.packed`) order as the dates do.
    private static func pack(_ date: CalendarDate) -> Int32 { date.packed }

    private static func unpack(_ value: Int32) -> CalendarDate? {
        value == 0 ? nil : CalendarDate(packed: value)
    }
}
