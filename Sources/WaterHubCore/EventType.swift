/// The nine steps a water company reports about a household that cannot pay its bill.
///
/// The raw values are the canonical names used in the API, the town files and the canonical
/// dialect; a company's own codes are mapped onto them by its dialect.
public enum EventType: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The company asks the LAC to handle the household (the invitation; the date is the session).
    case lacRequest = "lac_request"
    /// A warning letter or formal notice (verwittigingsbrief, ingebrekestelling).
    case warningLetter = "warning_letter"
    /// A payment plan that was not kept (betaalplan niet nageleefd).
    case paymentPlanFailed = "payment_plan_failed"
    /// A flow limiter is announced (six weeks ahead, since 2020 the first sanction).
    case flowLimitationAnnounced = "flow_limitation_announced"
    /// A flow limiter (at least 50 l/h) is placed.
    case flowLimitation = "flow_limitation"
    /// The flow limiter is removed.
    case flowLimitationRemoved = "flow_limitation_removed"
    /// The company intends to disconnect (intentie tot effectieve afsluiting).
    case intentToDisconnect = "intent_to_disconnect"
    /// The household is disconnected (afsluiting).
    case disconnection
    /// The household is reconnected (heraansluiting).
    case reconnection

    /// The order in which the steps normally follow each other (their place in `allCases`);
    /// used to sort, to compare, and as a case's slot for the step (`StepDates`).
    public var stepOrder: Int {
        switch self {
        case .lacRequest: 0
        case .warningLetter: 1
        case .paymentPlanFailed: 2
        case .flowLimitationAnnounced: 3
        case .flowLimitation: 4
        case .flowLimitationRemoved: 5
        case .intentToDisconnect: 6
        case .disconnection: 7
        case .reconnection: 8
        }
    }

    public static func < (lhs: EventType, rhs: EventType) -> Bool { lhs.stepOrder < rhs.stepOrder }

    /// The Dutch label the towns' social workers know the step by.
    public var dutchLabel: String {
        switch self {
        case .lacRequest: "Oproeping LAC"
        case .warningLetter: "Verwittigingsbrief"
        case .paymentPlanFailed: "Betaalplan niet nageleefd"
        case .flowLimitationAnnounced: "Aankondiging debietbegrenzer"
        case .flowLimitation: "Debietbegrenzer geplaatst"
        case .flowLimitationRemoved: "Debietbegrenzer weggenomen"
        case .intentToDisconnect: "Intentie tot afsluiting"
        case .disconnection: "Afsluiting"
        case .reconnection: "Heraansluiting"
        }
    }
}

/// Whether the household is a protected customer (beschermde klant, social tariff).
public enum ProtectedStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case yes
    case no
    case unknown
}
