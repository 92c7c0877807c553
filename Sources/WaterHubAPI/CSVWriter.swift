import Foundation
import NIOCore

/// Writes CSV the way a spreadsheet in Flanders opens it right: `;` between fields, CRLF between
/// rows, UTF-8 with a byte-order mark, fields quoted only when they must be.
///
/// Text that a spreadsheet would run as a formula (`=…`, `@…`, `+…`/`-…` that is not a number)
/// gets a leading `'`: a feed is outside data, and a cell must never become a formula.
public struct CSVWriter {
    public var buffer: ByteBuffer
    private var atRowStart = true

    /// The UTF-8 byte-order mark a CSV answer starts with.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Writes the byte-order mark and the header row.
    public mutating func begin(header: [String]) {
        buffer.writeBytes(CSVWriter.byteOrderMark)
        for name in header { field(name) }
        endRow()
    }

    /// A text field; nil is an empty field.
    public mutating func field(_ text: String?) {
        separate()
        guard let text, !text.isEmpty else { return }
        let safe = CSVWriter.neutralised(text)
        if safe.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(safe.replacingOccurrences(of: "\"", with: "\"\""))
            buffer.writeInteger(UInt8(ascii: "\""))
        } else {
            buffer.writeString(safe)
        }
    }

    /// A whole number; nil is an empty field.
    public mutating func field(_ number: Int64?) {
        separate()
        if let number { buffer.writeString(String(number)) }
    }

    /// Ends the row.
    public mutating func endRow() {
        buffer.writeStaticString("\r\n")
        atRowStart = true
    }

    private mutating func separate() {
        if !atRowStart { buffer.writeInteger(UInt8(ascii: ";")) }
        atRowStart = false
    }

    /// The text with a leading `'` when a spreadsheet would read it as a formula.
    static func neutralised(_ text: String) -> String {
        guard let first = text.utf8.first else { return text }
        switch first {
        case UInt8(ascii: "="), UInt8(ascii: "@"), 0x09, 0x0D:
            return "'" + text
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let isNumber = text.utf8.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ".") }
            return isNumber ? text : "'" + text
        default:
            return text
        }
    }
}

/// Euro cents as a Belgian amount: `1234,56` in files, `1.234,56` for people to read.
enum EuroAmount {
    static func display(_ cents: Int64?) -> String? {
        guard let plain = text(cents), let comma = plain.firstIndex(of: ",") else { return nil }
        var euros = String(plain[..<comma])
        var grouped = ""
        while euros.count > 3 {
            grouped = "." + euros.suffix(3) + grouped
            euros = String(euros.dropLast(3))
        }
        return euros + grouped + plain[comma...]
    }

    static func text(_ cents: Int64?) -> String? {
        guard let cents else { return nil }
        let euros = cents / 100, rest = abs(cents % 100)
        return "\(euros),\(rest < 10 ? "0" : "")\(rest)"
    }
}
