/// What an event must carry to be stored, beyond having parsed: the fields its type needs and a
/// date in a sane window.
///
/// Every event needs its source id, a household (customer number or connection id) and a
/// location (NIS code or postal code; the router checks which). The steps after which the OCMW
/// must reach the household in person also need a name and a street.
public struct EventRules: Sendable, Hashable {
    /// The earliest event date accepted; older dates are typing errors, not history.
    public var earliestDate: CalendarDate
    /// How many days after today an event date may lie (a LAC session is planned ahead).
    public var maximumDaysAhead: Int

    public init(earliestDate: CalendarDate = CalendarDate(year: 2000, month: 1, day: 1)!, maximumDaysAhead: Int = 366) {
        self.earliestDate = earliestDate
        self.maximumDaysAhead = maximumDaysAhead
    }

    /// The fields each event type requires, besides the ones every event requires.
    public static func requiredFields(for type: EventType) -> [EventField] {
        switch type {
        case .lacRequest, .flowLimitationAnnounced, .intentToDisconnect, .disconnection:
            [.name, .street]
        default:
            []
        }
    }

    /// The first problem that keeps `event` from being stored, or nil.
    public func problem(with event: some EventFields, today: CalendarDate) -> RowProblem? {
        if !event.has(.sourceEventID) {
            return RowProblem(.missingField, field: .sourceEventID, "every row needs the company's own id for it")
        }
        if !event.hasHousehold {
            return RowProblem(.missingField, field: .customerNumber, "every row needs a customer number or a connection id")
        }
        if !event.has(.nisCode) && !event.has(.postalCode) {
            return RowProblem(.noLocation, field: .postalCode, "every row needs a NIS code or a postal code")
        }
        for field in EventRules.requiredFields(for: event.type) where !event.has(field) {
            return RowProblem(.missingField, field: field, "required for \(event.type.rawValue)")
        }
        if event.eventDate < earliestDate {
            return RowProblem(.dateOutOfRange, field: .eventDate, "\(event.eventDate.iso) is before \(earliestDate.iso)")
        }
        let latest = today.adding(days: maximumDaysAhead)
        if event.eventDate > latest {
            return RowProblem(.dateOutOfRange, field: .eventDate, "\(event.eventDate.iso) is more than \(maximumDaysAhead) days ahead")
        }
        return nil
    }
}

extension Event {
    /// The text value of a canonical field, as the canonical dialect writes it.
    public func value(of field: EventField) -> String? {
        switch field {
        case .sourceEventID: sourceEventID
        case .type: type.rawValue
        case .eventDate: eventDate.iso
        case .customerNumber: customerNumber
        case .connectionID: connectionID
        case .name: name
        case .street: street
        case .houseNumber: houseNumber
        case .box: box
        case .postalCode: postalCode
        case .municipality: municipality
        case .nisCode: nisCode
        case .phone: phone
        case .email: email
        case .amountDue: amountDueCents.map(Event.euroText)
        case .protectedCustomer: protectedCustomer.rawValue
        case .note: note
        }
    }

    /// Cents as euro with a decimal point: 123456 becomes "1234.56".
    public static func euroText(_ cents: Int64) -> String {
        withEuroText(cents) { String(decoding: $0, as: UTF8.self) }
    }

    /// `euroText`'s bytes, written on the stack (the ingest writes one per event).
    public static func withEuroText<T>(_ cents: Int64, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        guard cents >= 0 else {
            // Never stored (amounts due are not negative); kept as the text always was.
            let fraction = cents % 100
            var text = "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
            return try text.withUTF8(body)
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var position = buffer.count
            func put(_ digit: Int64) {
                position -= 1
                buffer[position] = 0x30 + UInt8(digit)
            }
            put(cents % 10)
            put(cents / 10 % 10)
            position -= 1
            buffer[position] = UInt8(ascii: ".")
            var euros = cents / 100
            repeat {
                put(euros % 10)
                euros /= 10
            } while euros > 0
            return try body(UnsafeBufferPointer(rebasing: buffer[position...]))
        }
    }
}
