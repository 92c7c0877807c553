/// Splits delimited text into records, streaming: quoted fields (with doubled quotes inside and
/// line breaks inside), LF, CRLF and lone CR line ends, and blank lines skipped.
///
/// It works on bytes and does not decode text: every encoding the hub accepts keeps the
/// delimiter, the quote and the line ends as single ASCII bytes. A record's field contents are
/// kept in one reusable byte array, so reading a million rows allocates almost nothing.
public struct CSVTokenizer<Source: ByteSource> {
    private var bytes: ChunkedBytes<Source>
    private var position = 0
    private let delimiter: UInt8
    private let quote: UInt8?
    /// The line the next record starts on.
    public private(set) var nextLine = 1

    /// The unescaped bytes of every field of the current record, one after the other.
    public private(set) var fieldBytes: [UInt8] = []
    /// Where each field ends in `fieldBytes`.
    public private(set) var fieldEnds: [Int] = []
    /// The physical line (1-based) the current record starts on.
    public private(set) var line = 0
    /// Why the current record is malformed (an unterminated quote), or nil.
    public private(set) var malformation: String?
    private var rawRange = 0..<0

    /// `firstLine`: the line the source starts on (a part of a file that starts further on).
    public init(source: Source, delimiter: UInt8, quote: UInt8?, firstLine: Int = 1) {
        self.bytes = ChunkedBytes(source: source)
        self.delimiter = delimiter
        self.quote = quote
        self.nextLine = firstLine
        fieldBytes.reserveCapacity(4096)
        fieldEnds.reserveCapacity(64)
    }

    /// The number of fields in the current record.
    public var fieldCount: Int { fieldEnds.count }

    /// Calls `body` with the bytes of field `index` of the current record.
    @inline(__always)
    public func withField<T>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let start = index == 0 ? 0 : fieldEnds[index - 1]
        return try fieldBytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[start..<fieldEnds[index]]))
        }
    }

    /// The current record's bytes as they stood in the file, without its line end.
    public var rawRecord: [UInt8] { Array(bytes.buffer[rawRange]) }

    /// Moves to the next non-blank record; returns false at the end of the input.
    public mutating func next() throws -> Bool {
        while true {
            guard try readRecord() else { return false }
            let blank = fieldEnds.count == 1 && fieldEnds[0] == 0 && rawRange.isEmpty
            if !blank { return true }
        }
    }

    private mutating func readRecord() throws -> Bool {
        fieldBytes.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        malformation = nil
        bytes.mark = position
        var index = position
        guard try bytes.has(&index) else { return false }
        line = nextLine
        var inQuotes = false
        var atFieldStart = true
        var recordEnd = -1
        var after = -1
        scan: while true {
            guard try bytes.has(&index) else {
                if inQuotes { malformation = "a quoted field is not closed before the end of the file" }
                recordEnd = index
                after = index
                break scan
            }
            let byte = bytes.buffer[index]
            if inQuotes {
                if byte == quote {
                    if try bytes.closesQuote(at: &index, quote: byte) { inQuotes = false } else { fieldBytes.append(byte) }
                    continue
                }
                if byte == 0x0A { nextLine += 1 }
                fieldBytes.append(byte)
                index += 1
                continue
            }
            switch byte {
            case delimiter:
                fieldEnds.append(fieldBytes.count)
                atFieldStart = true
                index += 1
                continue
            case 0x0A:
                recordEnd = index
                after = index + 1
                break scan
            case 0x0D:
                recordEnd = index
                var lookahead = index + 1
                if try bytes.has(&lookahead), bytes.buffer[lookahead] == 0x0A {
                    recordEnd = lookahead - 1
                    after = lookahead + 1
                } else {
                    recordEnd = lookahead - 1
                    after = lookahead
                }
                break scan
            default:
                if atFieldStart, byte == quote {
                    inQuotes = true
                    atFieldStart = false
                    index += 1
                    continue
                }
                atFieldStart = false
                // The rest of the field's bytes in the buffer at once, up to the next delimiter or
                // line end (a quote inside an unquoted field is an ordinary byte).
                index = bytes.appendPlainRun(from: index, delimiter: delimiter, to: &fieldBytes)
            }
        }
        fieldEnds.append(fieldBytes.count)
        nextLine += 1
        rawRange = bytes.mark..<recordEnd
        position = after
        return true
    }
}

/// A place where a CSV input may be cut: a record starts there, outside any quoted field.
public struct CSVRecordBoundary: Sendable, Hashable {
    /// Bytes from the start of the input.
    public let offset: Int
    /// The line the record there starts on (1-based), as `CSVTokenizer.line` would give it.
    public let line: Int
}

extension CSVTokenizer {
    /// Reads the input from its start exactly as `next()` would (quoted fields, line breaks
    /// inside quotes, CRLF and lone CR), without keeping any field, and returns for each target
    /// offset (ascending) the first record that starts at or after it. Fewer boundaries come
    /// back when the input ends first. A part of the input that starts at a boundary, read with
    /// `firstLine: boundary.line`, gives the same records and lines as reading the whole input.
    public static func recordBoundaries(in source: Source, delimiter: UInt8, quote: UInt8?, at targets: [Int]) throws -> [CSVRecordBoundary] {
        var bytes = ChunkedBytes(source: source, chunkSize: 1 << 20)
        var boundaries: [CSVRecordBoundary] = []
        var pending = targets[...]
        var index = 0
        var nextLine = 1
        while let target = pending.first {
            bytes.mark = index
            guard try bytes.has(&index) else { break }
            if bytes.dropped + index >= target {
                boundaries.append(CSVRecordBoundary(offset: bytes.dropped + index, line: nextLine))
                pending = pending.dropFirst()
                continue
            }
            // Most records hold no quote: they end at the next line end.
            if let after = bytes.plainRecordEnd(from: index, quote: quote) {
                index = after
                nextLine += 1
                continue
            }
            var inQuotes = false
            var atFieldStart = true
            record: while true {
                guard try bytes.has(&index) else { return boundaries }
                let byte = bytes.buffer[index]
                if inQuotes {
                    if byte == quote {
                        if try bytes.closesQuote(at: &index, quote: byte) { inQuotes = false }
                        continue
                    }
                    if byte == 0x0A { nextLine += 1 }
                    index += 1
                    continue
                }
                switch byte {
                case delimiter:
                    atFieldStart = true
                    index += 1
                case 0x0A:
                    index += 1
                    break record
                case 0x0D:
                    var lookahead = index + 1
                    if try bytes.has(&lookahead), bytes.buffer[lookahead] == 0x0A { lookahead += 1 }
                    index = lookahead
                    break record
                default:
                    if atFieldStart, byte == quote { inQuotes = true }
                    atFieldStart = false
                    index += 1
                }
            }
            nextLine += 1
        }
        return boundaries
    }
}
