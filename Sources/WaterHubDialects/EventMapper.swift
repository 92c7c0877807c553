import WaterHubCore

/// Reads a row's typed values from its text, by the dialect's rules for dates, amounts and
/// codes; or says which field is wrong and why.
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

    /// Reads the typed values of a row whose fields hold their trimmed text (see `FeedRow`):
    /// the event type, date, amount and protected flag, and that the NIS and postal code are
    /// digits; or says which field is wrong and why.
    public func map(_ row: inout FeedRow) -> RowProblem? {
        guard let typeCode = row.string(.type) else {
            return RowProblem(.missingField, field: .type, "no event type")
        }
        guard let type = exactTypeCodes[typeCode] ?? typeCodes[Dialect.normalizedCode(typeCode)] else {
            let known = typeCodes.keys.sorted().joined(separator: ", ")
            return RowProblem(.unknownEventType, field: .type, "event type code \(typeCode.debugDescription) is not in the mapping (known: \(known))")
        }
        row.mappedType = type
        let date: CalendarDate?? = row.withTextBytes(.eventDate) { bytes in
            bytes.map { bytes in dialect.dateFormats.lazy.compactMap { $0.date(fromBytes: bytes) }.first }
        }
        guard let date else {
            return RowProblem(.missingField, field: .eventDate, "no event date")
        }
        guard let date else {
            let formats = dialect.dateFormats.map(\.pattern).joined(separator: " or ")
            return RowProblem(.invalidDate, field: .eventDate, "\(row.string(.eventDate)!.debugDescription) is not a real date in the form \(formats)")
        }
        row.mappedDate = date
        if let amountText = row.string(.amountDue) {
            switch dialect.amount.cents(from: amountText) {
            case .success(let cents): row.amountDueCents = cents
            case .failure(let problem): return problem
            }
        }
        if let given = row.string(.protectedCustomer) {
            if let exact = exactFlags[given] {
                row.protectedCustomer = exact
            } else {
                let flag = Dialect.normalizedCode(given)
                if unknown.contains(flag) { row.protectedCustomer = .unknown }
                else if yes.contains(flag) { row.protectedCustomer = .yes }
                else if no.contains(flag) { row.protectedCustomer = .no }
                else {
                    return RowProblem(.invalidValue, field: .protectedCustomer,
                        "\(flag.debugDescription) is none of the yes codes (\(dialect.yesCodes.joined(separator: ", "))) or no codes (\(dialect.noCodes.joined(separator: ", ")))")
                }
            }
        }
        if let code = row.string(.nisCode) {
            guard EventMapper.isDigits(code, count: 5) else {
                return RowProblem(.invalidValue, field: .nisCode, "a NIS code has 5 digits, got \(code.debugDescription)")
            }
        }
        if let code = row.string(.postalCode) {
            guard EventMapper.isDigits(code, count: 4) else {
                return RowProblem(.unknownPostalCode, field: .postalCode, "a Belgian postal code has 4 digits, got \(code.debugDescription)")
            }
        }
        return nil
    }
}

extension EventMapper {
    static func isDigits(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
