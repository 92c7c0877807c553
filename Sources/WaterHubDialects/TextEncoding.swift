/// The character encodings water companies send: UTF-8 (with or without a byte-order mark),
/// Windows-1252 (Excel's default on Belgian Windows) and ISO-8859-1.
public enum TextEncoding: String, Sendable, Hashable, CaseIterable {
    case utf8 = "utf-8"
    case windows1252 = "windows-1252"
    case latin1 = "iso-8859-1"

    /// Decodes bytes, or returns nil when they are not valid in this encoding.
    ///
    /// Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): their presence
    /// means the file is not Windows-1252, and guessing would produce silent mojibake.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if TextEncoding.isASCII(bytes) {
            return String(decoding: bytes, as: UTF8.self)
        }
        if self == .utf8 { return String(validating: bytes, as: UTF8.self) }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count * 3)
        guard appendUTF8(bytes, to: &utf8) else { return nil }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Appends the bytes' text without the whitespace around it, in UTF-8, to `buffer`: exactly
    /// the bytes of `decode` then `trimmingWhitespace` (nothing for blank bytes). False, with
    /// `buffer` as it was, when the bytes are not valid in this encoding.
    ///
    /// ASCII whitespace is cut from the bytes first. That is exact when the bytes left start and
    /// end with ASCII (a character boundary lies between two ASCII bytes, CR LF aside, which is
    /// whitespace either way); a field that starts or ends with a non-ASCII byte may have Unicode
    /// whitespace there, and is decoded whole and trimmed as a string.
    func appendTrimmed(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) -> Bool {
        @inline(__always) func isASCIIWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        var lower = 0, upper = bytes.count
        while lower < upper, isASCIIWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isASCIIWhitespace(bytes[upper - 1]) { upper -= 1 }
        if lower == upper { return true }
        if bytes[lower] < 0x80, bytes[upper - 1] < 0x80 {
            return appendUTF8(UnsafeBufferPointer(rebasing: bytes[lower..<upper]), to: &buffer)
        }
        guard let text = decode(bytes)?.trimmingWhitespace() else { return false }
        buffer.append(contentsOf: text.utf8)
        return true
    }

    /// Appends the bytes' text in UTF-8 to `buffer`; false, with `buffer` as it was, when they
    /// are not valid in this encoding.
    func appendUTF8(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) -> Bool {
        if TextEncoding.isASCII(bytes) {
            buffer.append(contentsOf: bytes)
            return true
        }
        switch self {
        case .utf8:
            guard TextEncoding.isValidUTF8(bytes) else { return false }
            buffer.append(contentsOf: bytes)
        case .latin1, .windows1252:
            let start = buffer.count
            for byte in bytes {
                guard let scalar = scalar(for: byte) else {
                    buffer.removeSubrange(start...)
                    return false
                }
                UTF8.encode(scalar) { buffer.append($0) }
            }
        }
        return true
    }

    /// The character of one byte in a one-byte encoding; nil for a byte Windows-1252 leaves undefined.
    @inline(__always)
    private func scalar(for byte: UInt8) -> Unicode.Scalar? {
        guard self == .windows1252, byte >= 0x80, byte < 0xA0 else { return Unicode.Scalar(byte) }
        let high = TextEncoding.windows1252High[Int(byte - 0x80)]
        return high == 0 ? nil : Unicode.Scalar(high)
    }

    /// Whether the bytes are well-formed UTF-8 (as `String(validating:)` requires).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Whether every byte is below 0x80, tested eight at a time (most fields are plain ASCII).
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if base[index] >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// Decodes bytes from an array (convenience for tests and small values).
    public func decode(_ bytes: some Collection<UInt8>) -> String? {
        Array(bytes).withUnsafeBufferPointer { decode($0) }
    }

    /// Windows-1252 code points for bytes 0x80–0x9F; 0 marks an undefined byte.
    static let windows1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]

    /// Encodes text in this encoding (for writing demo feeds); nil when a character has no byte.
    public func encode(_ text: String) -> [UInt8]? {
        switch self {
        case .utf8:
            return Array(text.utf8)
        case .latin1, .windows1252:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            for scalar in text.unicodeScalars {
                if scalar.value < 0x80 || (scalar.value >= 0xA0 && scalar.value <= 0xFF) {
                    bytes.append(UInt8(scalar.value))
                } else if self == .windows1252, let index = TextEncoding.windows1252High.firstIndex(of: scalar.value), scalar.value != 0 {
                    bytes.append(UInt8(0x80 + index))
                } else {
                    return nil
                }
            }
            return bytes
        }
    }
}
