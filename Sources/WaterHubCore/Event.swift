/// The canonical fields of a feed row, as named in the canonical dialect, the API and errors.
public enum EventField: String, Sendable, Hashable, Codable, CaseIterable {
    case sourceEventID = "source_event_id"
    case type
    case eventDate = "event_date"
    case customerNumber = "customer_number"
    case connectionID = "connection_id"
    case name
    case street
    case houseNumber = "house_number"
    case box
    case postalCode = "postal_code"
    case municipality
    case nisCode = "nis_code"
    case phone
    case email
    case amountDue = "amount_due"
    case protectedCustomer = "protected_customer"
    case note

    /// The field's position in `allCases`, for array-indexed storage of a row's values.
    @inline(__always)
    public var index: Int {
        switch self {
        case .sourceEventID: 0
        case .type: 1
        case .eventDate: 2
        case .customerNumber: 3
        case .connectionID: 4
        case .name: 5
        case .street: 6
        case .houseNumber: 7
        case .box: 8
        case .postalCode: 9
        case .municipality: 10
        case .nisCode: 11
        case .phone: 12
        case .email: 13
        case .amountDue: 14
        case .protectedCustomer: 15
        case .note: 16
        }
    }

    /// Fields that identify or describe a person; they never go into logs, errors or statistics.
    public var isPersonalData: Bool {
        switch self {
        case .name, .street, .houseNumber, .box, .phone, .email, .note, .customerNumber, .connectionID: true
        default: false
        }
    }
}

/// One row of a water company's feed in canonical form: one step for one household.
public struct Event: Sendable, Hashable, Codable {
    /// The source (water company) id from the configuration.
    public var source: String
    /// The company's own id for this row; unique per source. A later row with the same id is a correction.
    public var sourceEventID: String
    public var type: EventType
    /// The day the event happened; for a LAC invitation, the session date.
    public var eventDate: CalendarDate
    public var customerNumber: String?
    public var connectionID: String?
    public var name: String?
    public var street: String?
    public var houseNumber: String?
    public var box: String?
    public var postalCode: String?
    /// The municipality name as the feed wrote it.
    public var municipality: String?
    /// The NIS code as the feed wrote it (it may be a pre-2025 code of a merged town).
    public var nisCode: String?
    public var phone: String?
    public var email: String?
    /// Arrears in euro cents; never a floating-point number.
    public var amountDueCents: Int64?
    public var protectedCustomer: ProtectedStatus
    /// Free text of the justification note.
    public var note: String?

    public init(
        source: String, sourceEventID: String, type: EventType, eventDate: CalendarDate,
        customerNumber: String? = nil, connectionID: String? = nil, name: String? = nil,
        street: String? = nil, houseNumber: String? = nil, box: String? = nil,
        postalCode: String? = nil, municipality: String? = nil, nisCode: String? = nil,
        phone: String? = nil, email: String? = nil, amountDueCents: Int64? = nil,
        protectedCustomer: ProtectedStatus = .unknown, note: String? = nil
    ) {
        self.source = source
        self.sourceEventID = sourceEventID
        self.type = type
        self.eventDate = eventDate
        self.customerNumber = customerNumber
        self.connectionID = connectionID
        self.name = name
        self.street = street
        self.houseNumber = houseNumber
        self.box = box
        self.postalCode = postalCode
        self.municipality = municipality
        self.nisCode = nisCode
        self.phone = phone
        self.email = email
        self.amountDueCents = amountDueCents
        self.protectedCustomer = protectedCustomer
        self.note = note
    }

    /// The household this event is about: the company's customer number, else its connection id.
    ///
    /// A household is only ever identified within one source: two companies number their
    /// customers independently.
    public var householdKey: HouseholdKey? {
        if let customerNumber, !customerNumber.isEmpty {
            return HouseholdKey(source: source, kind: .customer, identifier: customerNumber)
        }
        if let connectionID, !connectionID.isEmpty {
            return HouseholdKey(source: source, kind: .connection, identifier: connectionID)
        }
        return nil
    }
}

/// Identifies a household within one source: by customer number, or by connection id.
public struct HouseholdKey: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case customer
        case connection
    }

    public var source: String
    public var kind: Kind
    public var identifier: String

    public init(source: String, kind: Kind, identifier: String) {
        self.source = source
        self.kind = kind
        self.identifier = identifier
    }
}
