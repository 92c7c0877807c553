import NIOCore

/// Writes JSON straight into bytes, in a fixed field order, without an intermediate model: the
/// API's answers are large lists of flat records, and this keeps them fast and exact. The bytes
/// grow in a plain array (appending to it costs less than a ByteBuffer's checked writes) and
/// become one ByteBuffer when the answer, or a batch of it, is sent.
public struct JSONWriter {
    private var bytes: [UInt8] = []
    /// Nesting depth, and one bit per level: set when that level's next value needs a comma.
    private var depth = 0
    private var needsComma: UInt64 = 0

    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// The bytes written so far.
    public var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// The bytes written so far; the writer goes on empty, at the same nesting.
    public mutating func takeBuffer() -> ByteBuffer {
        defer { bytes.removeAll(keepingCapacity: true) }
        return ByteBuffer(bytes: bytes)
    }

    /// Starts another top-level value (the next line of NDJSON) without a separating comma.
    public mutating func startNewDocument() { depth = 0; needsComma = 0 }

    /// Ends a line of NDJSON.
    public mutating func newline() { bytes.append(0x0A) }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        depth += 1
        precondition(depth < 64, "JSON nested deeper than 63 levels")
        needsComma &= ~(1 << depth)
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        bytes.append(bracket)
    }

    /// Writes a member name; the next value is its value.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        append(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma &= ~(1 << depth)
    }

    /// Writes a member name that is not known at compile time.
    public mutating func key(_ name: String) {
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma &= ~(1 << depth)
    }

    public mutating func value(_ text: String?) {
        guard let text else { return null() }
        writeString(text)
    }

    public mutating func value(_ number: Int64?) {
        guard let number else { return null() }
        separate()
        bytes.append(contentsOf: String(number).utf8)    // a small string: no allocation
    }

    public mutating func value(_ number: Int) { value(Int64(number)) }

    public mutating func value(_ flag: Bool) {
        separate()
        append(flag ? "true" : "false")
    }

    /// A decimal number already written as JSON (`12.25`).
    public mutating func value(decimal text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func null() {
        separate()
        append("null")
    }

    /// A member with a string value, skipped entirely when the value is nil.
    public mutating func member(_ name: StaticString, _ text: String?) {
        key(name)
        value(text)
    }

    private mutating func separate() {
        let bit: UInt64 = 1 << depth
        if needsComma & bit != 0 { bytes.append(UInt8(ascii: ",")) }
        needsComma |= bit
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func writeString(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var clean = utf8.startIndex
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index]))
                clean = index + 1
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                default:
                    append("\\u00")
                    bytes.append(JSONWriter.hex[Int(byte >> 4)])
                    bytes.append(JSONWriter.hex[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
