/// How an OCMW tried to reach a household. The raw values are the canonical codes of the API,
/// the town files and the cell's statistics (reach rate per method).
public enum ContactMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case homeVisitAnnounced = "home_visit_announced"
    case homeVisitUnannounced = "home_visit_unannounced"
    case card
    case letter
    case phone
    case text
    case email
    case appointment

    /// The Dutch label the social workers know the method by.
    public var dutchLabel: String {
        switch self {
        case .homeVisitAnnounced: "Aangekondigd huisbezoek"
        case .homeVisitUnannounced: "Onaangekondigd huisbezoek"
        case .card: "Kaartje"
        case .letter: "Brief"
        case .phone: "Telefoon"
        case .text: "Sms"
        case .email: "Mail"
        case .appointment: "Afspraak"
        }
    }
}

/// What came of a contact attempt.
public enum ContactOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case reached
    case notReached = "not_reached"
    case refused

    /// The Dutch label the social workers know the outcome by.
    public var dutchLabel: String {
        switch self {
        case .reached: "Bereikt"
        case .notReached: "Niet bereikt"
        case .refused: "Geweigerd"
        }
    }
}

/// Who made a contact attempt: a role such as `social_worker`, never a person's name.
///
/// Roles are a closed list the hub's configuration names (`contacts.roles`), in lower_snake_case,
/// so that a free-text field can never carry someone's name into the town file or the statistics.
public enum ContactRole {
    /// The roles a hub accepts when its configuration names none.
    public static let defaults = ["social_worker", "prevention_worker", "lac_secretary", "budget_counsellor",
                                  "outreach_worker", "energy_water_cell"]

    /// Whether a text has the shape of a role code: lower_snake_case, 2 to 40 characters.
    public static func isWellFormed(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...40).contains(bytes.count), let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              bytes.last != UInt8(ascii: "_") else { return false }
        var previousUnderscore = false
        for byte in bytes {
            let isUnderscore = byte == UInt8(ascii: "_")
            guard isUnderscore || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte),
                  !(isUnderscore && previousUnderscore) else { return false }
            previousUnderscore = isUnderscore
        }
        return true
    }
}

/// A contact attempt an OCMW records about one of its households.
public struct Contact: Sendable, Hashable {
    /// The day of the attempt.
    public var date: CalendarDate
    public var method: ContactMethod
    public var outcome: ContactOutcome
    /// A role code (`prevention_worker`), never a name.
    public var role: String
    /// What the worker plans next, in a few words (optional).
    public var nextStep: String?

    public init(date: CalendarDate, method: ContactMethod, outcome: ContactOutcome, role: String, nextStep: String? = nil) {
        self.date = date
        self.method = method
        self.outcome = outcome
        self.role = role
        self.nextStep = nextStep
    }
}
