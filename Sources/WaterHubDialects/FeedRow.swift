import WaterHubCore

/// The feed decoder's current row in canonical form, read in place: the trimmed UTF-8 text of
/// each field in one reusable buffer, and the values the dialect's rules read from it (type,
/// date, amount, flag, postal and NIS code).
///
/// The rules, the router and the spool writer read it as they read an `Event` (`EventFields`),
/// so a million rows are checked, routed and spooled without a string per field; `event()`
/// makes the `Event` when one is wanted (a caller of `FeedDecoder.next()`, the JSON API).
public struct FeedRow: EventFields {
    public let source: String
    /// The text of the fields, one after the other.
    private var text: [UInt8] = []
    /// Where each field's text lies in `text`, by `EventField.index`; nil when absent or blank.
    private var ranges: [Range<Int>?] = Array(repeating: nil, count: EventField.allCases.count)

    // Set by `EventMapper.map`; read only of a row it accepted.
    var mappedType: EventType?
    var mappedDate: CalendarDate?
    public internal(set) var amountDueCents: Int64?
    public internal(set) var protectedCustomer: ProtectedStatus = .unknown

    init(source: String) {
        self.source = source
        text.reserveCapacity(1024)
    }

    public var type: EventType { mappedType! }
    public var eventDate: CalendarDate { mappedDate! }
    public var municipality: String? { string(.municipality) }
    public var postalCode: String? { string(.postalCode) }
    public var nisCode: String? { string(.nisCode) }

    @inline(__always)
    public func withTextBytes<T>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        guard let range = ranges[field.index] else { return try body(nil) }
        return try text.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// A field's text as a string, nil when absent.
    public func string(_ field: EventField) -> String? {
        withTextBytes(field) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Clears every field, keeping the storage.
    mutating func removeAll() {
        text.removeAll(keepingCapacity: true)
        for index in ranges.indices { ranges[index] = nil }
        mappedType = nil
        mappedDate = nil
        amountDueCents = nil
        protectedCustomer = .unknown
    }

    /// Sets a field to text already trimmed (blank leaves it absent).
    mutating func set(_ field: EventField, _ value: some Collection<UInt8>) {
        guard !value.isEmpty else { return }
        let start = text.count
        text.append(contentsOf: value)
        ranges[field.index] = start..<text.count
    }

    /// Sets a field from its bytes in the file, decoded and trimmed (see
    /// `TextEncoding.appendTrimmed`); false when they are not valid in the encoding.
    mutating func set(_ field: EventField, decoding bytes: UnsafeBufferPointer<UInt8>, as encoding: TextEncoding) -> Bool {
        let start = text.count
        guard encoding.appendTrimmed(bytes, to: &text) else { return false }
        if text.count > start { ranges[field.index] = start..<text.count }
        return true
    }

    /// The row as an `Event` (a row the mapper accepted).
    public func event() -> Event {
        Event(
            source: source, sourceEventID: string(.sourceEventID) ?? "", type: type, eventDate: eventDate,
            customerNumber: string(.customerNumber), connectionID: string(.connectionID), name: string(.name),
            street: string(.street), houseNumber: string(.houseNumber), box: string(.box),
            postalCode: postalCode, municipality: municipality, nisCode: nisCode,
            phone: string(.phone), email: string(.email), amountDueCents: amountDueCents,
            protectedCustomer: protectedCustomer, note: string(.note))
    }
}
