/// What a town has recorded about reaching one household: enough for the follow-up rules.
public struct ContactHistory: Sendable, Hashable {
    /// The latest contact attempt of any outcome.
    public var lastContactOn: CalendarDate?
    /// The latest attempt that reached the household.
    public var lastReachedOn: CalendarDate?

    public init(lastContactOn: CalendarDate? = nil, lastReachedOn: CalendarDate? = nil) {
        self.lastContactOn = lastContactOn
        self.lastReachedOn = lastReachedOn
    }

    /// The history with one more attempt.
    public func adding(_ contact: Contact) -> ContactHistory {
        var result = self
        result.lastContactOn = max(lastContactOn ?? contact.date, contact.date)
        if contact.outcome == .reached { result.lastReachedOn = max(lastReachedOn ?? contact.date, contact.date) }
        return result
    }
}

/// What the OCMW should do about a household now.
public struct FollowUp: Sendable, Hashable {
    /// Reach out at once (a disconnected household nobody has reached since).
    public var needsOutreach: Bool
    /// Check how things are going (reconnected a while ago, no contact since).
    public var needsAftercare: Bool
    /// Offer a free waterscan (a protected customer).
    public var suggestWaterscan: Bool

    public init(needsOutreach: Bool = false, needsAftercare: Bool = false, suggestWaterscan: Bool = false) {
        self.needsOutreach = needsOutreach
        self.needsAftercare = needsAftercare
        self.suggestWaterscan = suggestWaterscan
    }
}

/// The outreach and aftercare rules of the seeds (VMM's LAC-Water guidance and the WWE desk's
/// practice note), as configuration (`aftercare.*` in `hub.yaml`):
///
/// - a household in an outreach state (by default: disconnected) needs outreach at once, until a
///   contact that reached it is recorded on or after the day it entered that state;
/// - a household reconnected `monthsAfterReconnection` months ago or longer, with no contact of
///   any outcome recorded since the reconnection, needs aftercare;
/// - a protected customer is offered a free waterscan.
public struct AftercareRules: Sendable, Hashable {
    /// States that call for outreach at once (`aftercare.outreach_states`).
    public var outreachStates: Set<CaseState> = [.disconnected]
    /// How long after a reconnection without contact a household needs aftercare (`aftercare.months_after_reconnection`).
    public var monthsAfterReconnection = 6
    /// Whether protected customers are offered a waterscan (`aftercare.suggest_waterscan`).
    public var suggestWaterscanForProtected = true

    public init() {}

    /// What to do about a household, as of `today`.
    public func followUp(for householdCase: HouseholdCase, contacts: ContactHistory, today: CalendarDate) -> FollowUp {
        let since = householdCase.lastEventOn
        let needsOutreach = outreachStates.contains(householdCase.state) && !(contacts.lastReachedOn.map { $0 >= since } ?? false)
        let needsAftercare = householdCase.state == .reconnected
            && since <= today.adding(months: -monthsAfterReconnection)
            && !(contacts.lastContactOn.map { $0 >= since } ?? false)
        let suggestWaterscan = suggestWaterscanForProtected && householdCase.protectedCustomer == .yes
        return FollowUp(needsOutreach: needsOutreach, needsAftercare: needsAftercare, suggestWaterscan: suggestWaterscan)
    }
}
