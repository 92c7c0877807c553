/// A JSON value as the feed wrote it; numbers keep their text so that amounts never pass
/// through floating point.
public indirect enum JSONValue: Sendable, Hashable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The value at a dotted path inside nested objects.
    public func value(at path: [String]) -> JSONValue? {
        var current = self
        for key in path {
            guard case .object(let members) = current, let next = members[key] else { return nil }
            current = next
        }
        return current
    }

    /// The value as field text: strings as they are, numbers as written, booleans as true/false.
    public var text: String? {
        switch self {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null, .object, .array: nil
        }
    }
}

/// A JSON syntax error with the line it is on.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads records (objects) one at a time from a JSON array or from NDJSON, streaming.
///
/// In NDJSON a broken line is one bad record and reading goes on at the next line; in a JSON
/// array a syntax error leaves no safe place to resume, so it ends the file with an error.
public struct JSONRecordReader<Source: ByteSource> {
    private var bytes: ChunkedBytes<Source>
    private var position = 0
    private var lineNumber = 1
    private let lineDelimited: Bool
    private let encoding: TextEncoding
    private var state = State.start

    private enum State { case start, inArray, done }

    /// The current record.
    public private(set) var record: JSONValue = .null
    /// The line the current record starts on.
    public private(set) var line = 0
    /// Why the current record could not be read (NDJSON only), or nil.
    public private(set) var malformation: String?
    private var rawRange = 0..<0

    public init(source: Source, lineDelimited: Bool, encoding: TextEncoding) {
        self.bytes = ChunkedBytes(source: source)
        self.lineDelimited = lineDelimited
        self.encoding = encoding
    }

    /// The current record's bytes as they stood in the file.
    public var rawRecord: [UInt8] { Array(bytes.buffer[rawRange]) }

    /// Moves to the next record; returns false at the end. Throws on a syntax error in a JSON array.
    public mutating func next() throws -> Bool {
        malformation = nil
        return lineDelimited ? try nextLine() : try nextElement()
    }

    private mutating func nextLine() throws -> Bool {
        while true {
            bytes.mark = position
            var index = position
            try skipWhitespace(&index, stopAtNewline: true)
            guard try bytes.has(&index) else { return false }
            if bytes.buffer[index] == 0x0A { lineNumber += 1; position = index + 1; continue }
            line = lineNumber
            do {
                record = try parseValue(&index)
                try skipWhitespace(&index, stopAtNewline: true)
                if try bytes.has(&index), bytes.buffer[index] != 0x0A {
                    throw JSONSyntaxError(line: lineNumber, message: "unexpected text after the object")
                }
            } catch let error as JSONSyntaxError {
                malformation = error.message
                while try bytes.has(&index), bytes.buffer[index] != 0x0A { index += 1 }
            }
            trimRawRange(to: index)
            if try bytes.has(&index) { index += 1; lineNumber += 1 }
            position = index
            return true
        }
    }

    /// The record is the line from `mark` to `index`, without white space around it.
    private mutating func trimRawRange(to index: Int) {
        var from = bytes.mark
        while from < index, bytes.buffer[from] == 0x20 || bytes.buffer[from] == 0x09 || bytes.buffer[from] == 0x0D { from += 1 }
        var to = index
        while to > from, bytes.buffer[to - 1] == 0x0D || bytes.buffer[to - 1] == 0x20 { to -= 1 }
        rawRange = from..<to
    }

    private mutating func nextElement() throws -> Bool {
        var index = position
        bytes.mark = index
        switch state {
        case .done:
            return false
        case .start:
            try skipWhitespace(&index, stopAtNewline: false)
            guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "the file is empty; expected a JSON array") }
            guard bytes.buffer[index] == UInt8(ascii: "[") else {
                throw JSONSyntaxError(line: lineNumber, message: "expected a JSON array '[' at the start of the file")
            }
            index += 1
            try skipWhitespace(&index, stopAtNewline: false)
            if try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "]") {
                state = .done
                try expectEnd(index + 1)
                return false
            }
            state = .inArray
        case .inArray:
            try skipWhitespace(&index, stopAtNewline: false)
            guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "the array is not closed with ']' (truncated file?)") }
            if bytes.buffer[index] == UInt8(ascii: "]") {
                state = .done
                try expectEnd(index + 1)
                return false
            }
            guard bytes.buffer[index] == UInt8(ascii: ",") else {
                throw JSONSyntaxError(line: lineNumber, message: "expected ',' or ']' between array elements")
            }
            index += 1
        }
        try skipWhitespace(&index, stopAtNewline: false)
        bytes.mark = index
        line = lineNumber
        record = try parseValue(&index)
        rawRange = bytes.mark..<index
        position = index
        return true
    }

    private mutating func expectEnd(_ from: Int) throws {
        var index = from
        try skipWhitespace(&index, stopAtNewline: false)
        if try bytes.has(&index) { throw JSONSyntaxError(line: lineNumber, message: "unexpected text after the closing ']'") }
    }

    private mutating func skipWhitespace(_ index: inout Int, stopAtNewline: Bool) throws {
        while try bytes.has(&index) {
            let byte = bytes.buffer[index]
            if byte == 0x0A {
                if stopAtNewline { return }
                lineNumber += 1
            } else if byte != 0x20 && byte != 0x09 && byte != 0x0D {
                return
            }
            index += 1
        }
    }

    private mutating func parseValue(_ index: inout Int) throws -> JSONValue {
        try skipWhitespace(&index, stopAtNewline: lineDelimited)
        guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "unexpected end of the file inside a value") }
        switch bytes.buffer[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [String: JSONValue] = [:]
            try skipWhitespace(&index, stopAtNewline: lineDelimited)
            if try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                try skipWhitespace(&index, stopAtNewline: lineDelimited)
                guard try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "\"") else {
                    throw JSONSyntaxError(line: lineNumber, message: "expected a quoted member name")
                }
                let key = try parseString(&index)
                try skipWhitespace(&index, stopAtNewline: lineDelimited)
                guard try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: ":") else {
                    throw JSONSyntaxError(line: lineNumber, message: "expected ':' after member name \(key.debugDescription)")
                }
                index += 1
                members[key] = try parseValue(&index)
                try skipWhitespace(&index, stopAtNewline: lineDelimited)
                guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "an object is not closed with '}'") }
                if bytes.buffer[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes.buffer[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw JSONSyntaxError(line: lineNumber, message: "expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [JSONValue] = []
            try skipWhitespace(&index, stopAtNewline: lineDelimited)
            if try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                elements.append(try parseValue(&index))
                try skipWhitespace(&index, stopAtNewline: lineDelimited)
                guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "an array is not closed with ']'") }
                if bytes.buffer[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes.buffer[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw JSONSyntaxError(line: lineNumber, message: "expected ',' or ']' in an array")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString(&index))
        case UInt8(ascii: "t"): try expectWord("true", &index); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false", &index); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null", &index); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var text: [UInt8] = []
            while try bytes.has(&index) {
                let byte = bytes.buffer[index]
                guard (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") else { break }
                text.append(byte)
                index += 1
            }
            return .number(String(decoding: text, as: UTF8.self))
        default:
            throw JSONSyntaxError(line: lineNumber, message: "unexpected character where a value should start")
        }
    }

    private mutating func expectWord(_ word: StaticString, _ index: inout Int) throws {
        for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard try bytes.has(&index), bytes.buffer[index] == expected else {
                throw JSONSyntaxError(line: lineNumber, message: "unexpected word; expected \(word)")
            }
            index += 1
        }
    }

    private mutating func parseString(_ index: inout Int) throws -> String {
        index += 1
        var result = ""
        var pending: [UInt8] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            guard let text = encoding.decode(pending) else {
                throw JSONSyntaxError(line: lineNumber, message: "a string is not valid \(encoding.rawValue)")
            }
            result += text
            pending.removeAll(keepingCapacity: true)
        }
        while true {
            guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "a string is not closed before the end of the file") }
            let byte = bytes.buffer[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                try flush()
                return result
            case 0x0A:
                throw JSONSyntaxError(line: lineNumber, message: "a line break inside a string")
            case UInt8(ascii: "\\"):
                guard try bytes.has(&index) else { throw JSONSyntaxError(line: lineNumber, message: "a string ends in '\\'") }
                let escaped = bytes.buffer[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): pending.append(escaped)
                case UInt8(ascii: "n"): pending.append(0x0A)
                case UInt8(ascii: "t"): pending.append(0x09)
                case UInt8(ascii: "r"): pending.append(0x0D)
                case UInt8(ascii: "b"): pending.append(0x08)
                case UInt8(ascii: "f"): pending.append(0x0C)
                case UInt8(ascii: "u"):
                    try flush()
                    var scalar = try hex4(&index)
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "\\") else {
                            throw JSONSyntaxError(line: lineNumber, message: "an unpaired surrogate in \\u escape")
                        }
                        index += 1
                        guard try bytes.has(&index), bytes.buffer[index] == UInt8(ascii: "u") else {
                            throw JSONSyntaxError(line: lineNumber, message: "an unpaired surrogate in \\u escape")
                        }
                        index += 1
                        let low = try hex4(&index)
                        guard (0xDC00...0xDFFF).contains(low) else { throw JSONSyntaxError(line: lineNumber, message: "an unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let value = Unicode.Scalar(scalar) else { throw JSONSyntaxError(line: lineNumber, message: "an invalid \\u escape") }
                    result.unicodeScalars.append(value)
                default:
                    throw JSONSyntaxError(line: lineNumber, message: "an unknown escape in a string")
                }
            default:
                pending.append(byte)
            }
        }
    }

    private mutating func hex4(_ index: inout Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard try bytes.has(&index), let digit = hexDigit(bytes.buffer[index]) else {
                throw JSONSyntaxError(line: lineNumber, message: "expected four hex digits after \\u")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }
}
