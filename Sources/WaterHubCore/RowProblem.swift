/// Why a feed row cannot be stored: a stable code for counting, the field, and plain words.
///
/// Messages never quote personal data (names, addresses, phone numbers, free text); they may
/// quote codes (postal code, NIS code, event type code) and the shape of what was expected.
public struct RowProblem: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: Code
    /// The canonical field or the company's column the problem is in, when there is one.
    public var field: String?
    /// What is wrong, in plain words, for the operator and the water company.
    public var message: String

    public init(_ code: Code, field: String?, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public init(_ code: Code, field: EventField, _ message: String) {
        self.init(code, field: field.rawValue, message)
    }

    public var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }

    /// Stable reason codes; the data-quality report counts rows per code.
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        case missingField = "missing_field"
        case invalidDate = "invalid_date"
        case dateOutOfRange = "date_out_of_range"
        case invalidAmount = "invalid_amount"
        case invalidValue = "invalid_value"
        case unknownEventType = "unknown_event_type"
        case unknownPostalCode = "unknown_postal_code"
        case unknownNISCode = "unknown_nis_code"
        case nisDoesNotMatchPostalCode = "nis_postal_code_mismatch"
        case ambiguousPostalCode = "ambiguous_postal_code"
        case noLocation = "no_location"
        case duplicateEventID = "duplicate_source_event_id"
        case invalidEncoding = "invalid_encoding"
        case malformedRow = "malformed_row"
    }
}
