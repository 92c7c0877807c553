import WaterHubCore

/// Turns one row's raw field values into an `Event`, by the dialect's rules for dates, amounts
/// and codes; or says which field is wrong and why.
public struct EventMapper: Sendable {
    public let source: String
    public let dialect: Dialect
    private let typeCodes: [String: EventType]
    /// The codes exactly as configured: most rows match one without normalising.
    private let exactTypeCodes: [String: EventType]
    private let exactFlags: [String: ProtectedStatus]
    private let yes: Set<String>
    private let no: Set<String>
    private let unknown: Set<String>

    public init(source: String, dialect: Dialect) {
        self.source = source
        self.dialect = dialect
        var codes: [String: EventType] = [:]
        if dialect.eventTypeCodes.isEmpty {
            for type in EventType.allCases { codes[type.rawValue] = type }
        } else {
            for (code, type) in dialect.eventTypeCodes { codes[Dialect.normalizedCode(code)] = type }
        }
        typeCodes = codes
        exactTypeCodes = dialect.eventTypeCodes.isEmpty ? codes : dialect.eventTypeCodes
        var flags: [String: ProtectedStatus] = [:]
        for code in dialect.unknownCodes { flags[code] = .unknown }
        for code in dialect.noCodes { flags[code] = .no }
        for code in dialect.yesCodes { flags[code] = .yes }
        exactFlags = flags
        yes = Set(dialect.yesCodes.map(Dialect.normalizedCode))
        no = Set(dialect.noCodes.map(Dialect.normalizedCode))
        unknown = Set(dialect.unknownCodes.map(Dialect.normalizedCode))
    }

    /// Builds the event from values indexed by `EventField` (see `FieldValues`: trimmed, nil when
    /// absent or blank). The texts the event keeps unchanged are moved out of `values`, not copied.
    public func event(from values: inout FieldValues) -> Result<Event, RowProblem> {
        func text(_ field: EventField) -> String? { values[field] }
        func take(_ field: EventField) -> String? { values.take(field) }
        guard let typeCode = text(.type) else {
            return .failure(RowProblem(.missingField, field: .type, "no event type"))
        }
        guard let type = exactTypeCodes[typeCode] ?? typeCodes[Dialect.normalizedCode(typeCode)] else {
            let known = typeCodes.keys.sorted().joined(separator: ", ")
            return .failure(RowProblem(.unknownEventType, field: .type, "event type code \(typeCode.debugDescription) is not in the mapping (known: \(known))"))
        }
        guard let dateText = text(.eventDate) else {
            return .failure(RowProblem(.missingField, field: .eventDate, "no event date"))
        }
        guard let date = dialect.dateFormats.lazy.compactMap({ $0.date(from: dateText) }).first else {
            let formats = dialect.dateFormats.map(\.pattern).joined(separator: " or ")
            return .failure(RowProblem(.invalidDate, field: .eventDate, "\(dateText.debugDescription) is not a real date in the form \(formats)"))
        }
        var amount: Int64?
        if let amountText = text(.amountDue) {
            switch dialect.amount.cents(from: amountText) {
            case .success(let cents): amount = cents
            case .failure(let problem): return .failure(problem)
            }
        }
        var protected = ProtectedStatus.unknown
        if let given = text(.protectedCustomer), let exact = exactFlags[given] {
            protected = exact
        } else if let flag = text(.protectedCustomer).map(Dialect.normalizedCode), !unknown.contains(flag) {
            if yes.contains(flag) { protected = .yes }
            else if no.contains(flag) { protected = .no }
            else {
                return .failure(RowProblem(.invalidValue, field: .protectedCustomer,
                    "\(flag.debugDescription) is none of the yes codes (\(dialect.yesCodes.joined(separator: ", "))) or no codes (\(dialect.noCodes.joined(separator: ", ")))"))
            }
        }
        let nisCode = take(.nisCode)
        if let code = nisCode, !EventMapper.isDigits(code, count: 5) {
            return .failure(RowProblem(.invalidValue, field: .nisCode, "a NIS code has 5 digits, got \(code.debugDescription)"))
        }
        let postalCode = take(.postalCode)
        if let code = postalCode, !EventMapper.isDigits(code, count: 4) {
            return .failure(RowProblem(.unknownPostalCode, field: .postalCode, "a Belgian postal code has 4 digits, got \(code.debugDescription)"))
        }
        return .success(Event(
            source: source, sourceEventID: take(.sourceEventID) ?? "", type: type, eventDate: date,
            customerNumber: take(.customerNumber), connectionID: take(.connectionID), name: take(.name),
            street: take(.street), houseNumber: take(.houseNumber), box: take(.box),
            postalCode: postalCode, municipality: take(.municipality), nisCode: nisCode,
            phone: take(.phone), email: take(.email), amountDueCents: amount,
            protectedCustomer: protected, note: take(.note)))
    }
}

extension EventMapper {
    static func isDigits(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// A row's text values, indexed by canonical field: each without the whitespace around it
/// (`trimmingWhitespace`), nil when the field is absent or blank. The decoder trims them.
public struct FieldValues: Sendable {
    private var values: [String?] = Array(repeating: nil, count: EventField.allCases.count)

    public init() {}

    public subscript(field: EventField) -> String? {
        get { values[field.index] }
        set { values[field.index] = newValue }
    }

    /// The value of a field, moved out (the field is nil afterwards).
    public mutating func take(_ field: EventField) -> String? {
        var value: String?
        swap(&value, &values[field.index])
        return value
    }

    /// Clears every value, keeping the storage.
    public mutating func removeAll() {
        for index in values.indices { values[index] = nil }
    }
}
