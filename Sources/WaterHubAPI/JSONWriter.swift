import NIOCore

/// Writes JSON straight into a byte buffer, in a fixed field order, without an intermediate
/// model: the API's answers are large lists of flat records, and this keeps them fast and exact.
public struct JSONWriter {
    public var buffer: ByteBuffer
    private var needsComma: [Bool] = [false]

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Starts another top-level value (the next line of NDJSON) without a separating comma.
    public mutating func startNewDocument() { needsComma = [false] }

    public mutating func beginObject() { separate(); buffer.writeInteger(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); buffer.writeInteger(UInt8(ascii: "}")) }
    public mutating func beginArray() { separate(); buffer.writeInteger(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); buffer.writeInteger(UInt8(ascii: "]")) }

    /// Writes a member name; the next value is its value.
    public mutating func key(_ name: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeStaticString("\":")
        needsComma[needsComma.count - 1] = false
    }

    /// Writes a member name that is not known at compile time.
    public mutating func key(_ name: String) {
        writeString(name)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    public mutating func value(_ text: String?) {
        guard let text else { return null() }
        writeString(text)
    }

    public mutating func value(_ number: Int64?) {
        guard let number else { return null() }
        separate()
        buffer.writeString(String(number))
    }

    public mutating func value(_ number: Int) { value(Int64(number)) }

    public mutating func value(_ flag: Bool) {
        separate()
        buffer.writeStaticString(flag ? "true" : "false")
    }

    /// A decimal number already written as JSON (`12.25`).
    public mutating func value(decimal text: String) {
        separate()
        buffer.writeString(text)
    }

    public mutating func null() {
        separate()
        buffer.writeStaticString("null")
    }

    /// A member with a string value, skipped entirely when the value is nil.
    public mutating func member(_ name: StaticString, _ text: String?) {
        key(name)
        value(text)
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { buffer.writeInteger(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func writeString(_ text: String) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = text.utf8
        let clean = utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if clean == true {
            buffer.writeString(text)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex[Int(byte >> 4)])
                    buffer.writeInteger(hex[Int(byte & 0xF)])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
