import WaterHubCore

/// How one water company writes its feed: the format, the encoding, which column holds which
/// canonical field, and how it writes dates, amounts, event types and yes/no.
///
/// A dialect is configuration (`Config/sources/*.yaml`), not code: a new company is a new file.
public struct Dialect: Sendable, Hashable {
    /// The file format.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// Delimited text with a header row (or fixed column positions).
        case csv
        /// One JSON array of objects.
        case jsonArray = "json"
        /// One JSON object per line.
        case ndjson
    }

    /// Where a canonical field comes from.
    public enum Column: Sendable, Hashable {
        /// A CSV column by its header name (matched in any case, ignoring spaces and underscores).
        case named(String)
        /// A CSV column by 1-based position, for files without a header row.
        case position(Int)
        /// A value inside a JSON object, by dotted path (`klant.adres.postcode`).
        case path([String])
    }

    public var format: Format = .csv
    public var encoding: TextEncoding = .utf8
    /// CSV: the field delimiter (`;`, `,`, tab or `|`).
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// CSV: the quote character, or nil when fields are never quoted.
    public var quote: UInt8? = UInt8(ascii: "\"")
    /// CSV: whether the first (non-skipped) line names the columns.
    public var hasHeader = true
    /// CSV: lines to skip before the header (a title, an export date).
    public var skipLines = 0
    /// Where each canonical field comes from; a field not listed is absent (or a constant).
    public var columns: [EventField: Column] = [:]
    /// Fields that have the same value on every row (a company that only sends disconnections).
    public var constants: [EventField: String] = [:]
    /// Columns the company sends that the hub deliberately does not read.
    public var ignoredColumns: [String] = []
    /// Date formats to try, in order.
    public var dateFormats: [DateFormat] = [DateFormat("yyyy-MM-dd")!]
    public var amount = AmountFormat()
    /// The company's codes for event types; empty means the canonical names.
    public var eventTypeCodes: [String: EventType] = [:]
    /// The company's codes for a protected customer; matched in any case.
    public var yesCodes: [String] = ["yes", "true"]
    public var noCodes: [String] = ["no", "false"]
    /// The company's codes for "not known"; an empty value is always unknown.
    public var unknownCodes: [String] = ["unknown"]

    public init() {}

    /// The canonical dialect: UTF-8 CSV with `,`, a header of canonical field names, ISO dates,
    /// amounts in euro with a decimal point, canonical event type names, `yes`/`no`/`unknown`.
    public static let canonical: Dialect = {
        var dialect = Dialect()
        for field in EventField.allCases { dialect.columns[field] = .named(field.rawValue) }
        return dialect
    }()

    /// Normalises a column name for matching: lower case, without spaces, tabs and underscores.
    public static func normalizedColumnName(_ name: String) -> String {
        String(name.lowercased().filter { !$0.isWhitespace && $0 != "_" })
    }

    /// Normalises a code for matching: trimmed, lower case.
    public static func normalizedCode(_ code: String) -> String {
        code.trimmingWhitespace().lowercased()
    }
}

/// How a company writes amounts: decimal separator, thousands separator, and the unit.
public struct AmountFormat: Sendable, Hashable {
    /// `,` (Belgian Excel) or `.`.
    public var decimalSeparator: Character = "."
    /// `.`, a space, `'`, or nil when none is used.
    public var thousandsSeparator: Character? = nil
    /// Whether the numbers are in euro (`12,50`) or already in cents (`1250`).
    public var inCents = false

    public init(decimalSeparator: Character = ".", thousandsSeparator: Character? = nil, inCents: Bool = false) {
        self.decimalSeparator = decimalSeparator
        self.thousandsSeparator = thousandsSeparator
        self.inCents = inCents
    }

    /// Parses an amount to cents, exactly (no floating point). A leading `€` or trailing ` EUR`
    /// is allowed; more than two decimals, misplaced separators, or a negative amount are not.
    public func cents(from text: String) -> Result<Int64, RowProblem> {
        if let cents = plainCents(text) { return .success(cents) }
        return parsedCents(text)
    }

    /// The full parser: every form the format allows, and the reason when the text is none of them.
    func parsedCents(_ text: String) -> Result<Int64, RowProblem> {
        var body = Substring(text.trimmingWhitespace())
        func invalid(_ why: String) -> Result<Int64, RowProblem> {
            .failure(RowProblem(.invalidAmount, field: .amountDue, "\(why), got \(text.debugDescription)"))
        }
        if body.hasPrefix("€") { body = body.dropFirst().drop(while: \.isWhitespace) }
        if body.uppercased().hasSuffix("EUR") { body = body.dropLast(3) }
        body = Substring(String(body).trimmingWhitespace())
        var negative = false
        if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
        guard !body.isEmpty else { return invalid("expected an amount") }
        if inCents {
            guard body.allSatisfy(\.isASCIIDigit), let value = Int64(body) else { return invalid("expected a whole number of cents") }
            if negative && value != 0 { return invalid("an amount due cannot be negative") }
            return .success(value)
        }
        let parts = body.split(separator: decimalSeparator, omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return invalid("expected one decimal separator '\(decimalSeparator)'") }
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 2, fraction.allSatisfy(\.isASCIIDigit), parts.count == 1 || !fraction.isEmpty else {
            return invalid("expected at most two decimals after '\(decimalSeparator)'")
        }
        var digits = ""
        if let thousands = thousandsSeparator, whole.contains(thousands) {
            let groups = whole.split(separator: thousands, omittingEmptySubsequences: false)
            guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }) else {
                return invalid("thousands separator '\(thousands)' in the wrong place")
            }
            digits = groups.joined()
        } else {
            digits = String(whole)
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), digits.count <= 15, let euros = Int64(digits) else {
            return invalid("expected an amount in euro like 1234\(decimalSeparator)56")
        }
        let cents = euros * 100 + (fraction.isEmpty ? 0 : Int64(fraction.count == 1 ? String(fraction) + "0" : String(fraction))!)
        if negative && cents != 0 { return invalid("an amount due cannot be negative") }
        return .success(cents)
    }
}

extension AmountFormat {
    /// The common case without allocating: digits (in groups of three after a first group of one
    /// to three when the format has a thousands separator), at most one decimal separator
    /// followed by one or two digits, at most 15 digits of euros, no sign, no currency. Anything
    /// else returns nil and goes through the full parser (which gives the error messages).
    func plainCents(_ text: String) -> Int64? {
        guard !inCents else { return nil }
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            guard !bytes.isEmpty, bytes.count <= 24 else { return nil }
            let separator = decimalSeparator.asciiValue ?? 0
            let thousands = thousandsSeparator?.asciiValue
            var euros: Int64 = 0, fraction: Int64 = 0, fractionDigits = 0, seenSeparator = false, wholeDigits = 0
            // Digits since the last thousands separator, and whether there was one.
            var groupDigits = 0, grouped = false
            for byte in bytes {
                if byte >= 0x30 && byte <= 0x39 {
                    if seenSeparator {
                        fraction = fraction * 10 + Int64(byte - 0x30)
                        fractionDigits += 1
                    } else {
                        euros = euros * 10 + Int64(byte - 0x30)
                        wholeDigits += 1
                        groupDigits += 1
                        if wholeDigits > 15 { return nil }
                    }
                } else if byte == separator && !seenSeparator {
                    if grouped && groupDigits != 3 { return nil }
                    seenSeparator = true
                } else if byte == thousands, !seenSeparator, groupDigits >= 1, grouped ? groupDigits == 3 : groupDigits <= 3 {
                    grouped = true
                    groupDigits = 0
                } else {
                    return nil
                }
            }
            if grouped && !seenSeparator && groupDigits != 3 { return nil }
            guard wholeDigits > 0, !seenSeparator || (1...2).contains(fractionDigits) else { return nil }
            return euros * 100 + (fractionDigits == 1 ? fraction * 10 : fraction)
        }
    }
}

/// A date pattern such as `dd/MM/yyyy`: `yyyy`, `MM`/`M`, `dd`/`d`, `HH`, `mm`, `ss` (a time that
/// is read and ignored), and literal characters; text in single quotes is literal (`'T'`).
public struct DateFormat: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case year, month(padded: Bool), day(padded: Bool), ignoredDigits(Int), literal(UInt8)
    }

    public let pattern: String
    let tokens: [Token]

    public init?(_ pattern: String) {
        var tokens: [Token] = []
        let chars = Array(pattern.utf8)
        var index = 0
        var inLiteral = false
        while index < chars.count {
            let char = chars[index]
            if char == UInt8(ascii: "'") { inLiteral.toggle(); index += 1; continue }
            if inLiteral { tokens.append(.literal(char)); index += 1; continue }
            var run = 1
            while index + run < chars.count, chars[index + run] == char { run += 1 }
            switch (char, run) {
            case (UInt8(ascii: "y"), 4): tokens.append(.year)
            case (UInt8(ascii: "M"), 1), (UInt8(ascii: "M"), 2): tokens.append(.month(padded: run == 2))
            case (UInt8(ascii: "d"), 1), (UInt8(ascii: "d"), 2): tokens.append(.day(padded: run == 2))
            case (UInt8(ascii: "H"), 2), (UInt8(ascii: "m"), 2), (UInt8(ascii: "s"), 2): tokens.append(.ignoredDigits(2))
            case (let c, _) where (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")):
                return nil
            default:
                for _ in 0..<run { tokens.append(.literal(char)) }
            }
            index += run
        }
        guard !inLiteral, tokens.contains(.year), tokens.contains(where: { if case .month = $0 { true } else { false } }),
              tokens.contains(where: { if case .day = $0 { true } else { false } }) else { return nil }
        self.pattern = pattern
        self.tokens = tokens
    }

    public var description: String { pattern }

    /// Reads a date in this format, or nil when the text does not have this shape or the day does not exist.
    public func date(from text: String) -> CalendarDate? {
        var text = text
        return text.withUTF8 { date(fromBytes: $0) }
    }

    /// Reads a date from its bytes.
    public func date(fromBytes bytes: UnsafeBufferPointer<UInt8>) -> CalendarDate? {
        var index = 0
        var year = 0, month = 0, day = 0
        func number(maxDigits: Int, exactly: Bool) -> Int? {
            var value = 0, count = 0
            while count < maxDigits, index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                count += 1
            }
            if count == 0 || (exactly && count != maxDigits) { return nil }
            return value
        }
        for token in tokens {
            switch token {
            case .year: guard let value = number(maxDigits: 4, exactly: true) else { return nil }; year = value
            case .month(let padded): guard let value = number(maxDigits: 2, exactly: padded) else { return nil }; month = value
            case .day(let padded): guard let value = number(maxDigits: 2, exactly: padded) else { return nil }; day = value
            case .ignoredDigits(let count): guard number(maxDigits: count, exactly: true) != nil else { return nil }
            case .literal(let byte): guard index < bytes.count, bytes[index] == byte else { return nil }; index += 1
            }
        }
        guard index == bytes.count else { return nil }
        return CalendarDate(year: year, month: month, day: day)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// The text without leading and trailing white space (including non-breaking spaces).
    public func trimmingWhitespace() -> String {
        // Fast path: most values start and end with a visible ASCII character.
        let text = String(self)
        if let first = text.utf8.first, first > 0x20, first < 0x7F, let last = text.utf8.last, last > 0x20, last < 0x7F {
            return text
        }
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}
