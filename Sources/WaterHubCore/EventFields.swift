/// What the rules, the router and the spool read of an event: its typed values, the short codes
/// the router looks up, and the text of every other field as UTF-8 bytes.
///
/// `Event` is one. The feed decoder's current row is another, read in place in the decoder's
/// buffers: a row is checked, routed and spooled by the same code as an `Event`, without a
/// string being made for each of its fields.
public protocol EventFields {
    /// The source (water company) id from the configuration.
    var source: String { get }
    var type: EventType { get }
    var eventDate: CalendarDate { get }
    var amountDueCents: Int64? { get }
    var protectedCustomer: ProtectedStatus { get }
    var postalCode: String? { get }
    var nisCode: String? { get }
    /// The municipality name as the feed wrote it.
    var municipality: String? { get }
    /// Calls `body` with the UTF-8 bytes of a field kept as text, or nil when the field is absent.
    /// Only for the fields that are not typed (not `type`, `eventDate`, `amountDue`,
    /// `protectedCustomer`): `withCanonicalBytes` gives those as text.
    func withTextBytes<T>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T
}

extension EventFields {
    /// Calls `body` with the canonical text of any field (as `Event.value(of:)` gives it), or nil
    /// when the field is absent: the bytes a spool and a town file store.
    @inlinable
    public func withCanonicalBytes<T>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        switch field {
        case .type: return try type.withRawBytes(body)
        case .eventDate: return try eventDate.withISOBytes(body)
        case .amountDue:
            guard let cents = amountDueCents else { return try body(nil) }
            return try Event.withEuroText(cents, body)
        case .protectedCustomer: return try protectedCustomer.withRawBytes(body)
        default: return try withTextBytes(field, body)
        }
    }

    /// Whether a text field holds something (absent and empty are the same to the rules).
    @inlinable
    public func has(_ field: EventField) -> Bool {
        withTextBytes(field) { ($0?.count ?? 0) > 0 }
    }

    /// Whether the event names its household (see `Event.householdKey`).
    @inlinable
    public var hasHousehold: Bool { has(.customerNumber) || has(.connectionID) }
}

extension Event: EventFields {
    public func withTextBytes<T>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        guard var text = value(of: field) else { return try body(nil) }
        return try text.withUTF8 { try body($0) }
    }
}

extension RawRepresentable where RawValue == String {
    /// The raw value's UTF-8 bytes (a canonical name: a short string, kept inline).
    @inlinable
    func withRawBytes<T>(_ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        var text = rawValue
        return try text.withUTF8 { try body($0) }
    }
}
