import WaterHubCore

/// A problem with a whole file: nothing of it may be stored until the operator acts.
public struct FeedError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case headerMismatch = "header_mismatch"
        case syntax
        case encoding
        case empty
    }

    public let kind: Kind
    /// The line the problem was found on (1-based), when there is one.
    public let line: Int?
    public let message: String
    /// For a header mismatch: the mapped columns the file lacks, and the columns nobody mapped.
    public let missingColumns: [String]
    public let unknownColumns: [String]

    public init(_ kind: Kind, line: Int?, _ message: String, missingColumns: [String] = [], unknownColumns: [String] = []) {
        self.kind = kind
        self.line = line
        self.message = message
        self.missingColumns = missingColumns
        self.unknownColumns = unknownColumns
    }

    public var description: String {
        line.map { "line \($0): \(message)" } ?? message
    }
}

/// One record of a feed: its line, and the event it holds or why it holds none.
public struct DecodedRow: Sendable {
    public let line: Int
    public let result: Result<Event, RowProblem>
}

/// Reads a feed in a company's dialect, streaming, and yields one `DecodedRow` per record.
///
/// Checks here are the ones a single row or the file's shape can answer: encoding, header,
/// field count, dates, amounts, codes, required fields, and duplicate ids within the file.
/// Where the row belongs (routing) is the `Router`'s question.
public struct FeedDecoder<Source: ByteSource> {
    private enum Reader {
        case csv(CSVTokenizer<Source>, columnIndex: [Int?], headerCount: Int?)
        case json(JSONRecordReader<Source>)
        /// While `next()` reads with the reader taken out: the enum must not hold a second
        /// reference to its buffers, or every change to them would copy them first.
        case taken
    }

    public let dialect: Dialect
    private var reader: Reader
    private let mapper: EventMapper
    private let rules: EventRules
    private let today: CalendarDate
    private var seenIDs = FingerprintSet()
    /// The current record's fields; after `nextRecord` accepted it, its event.
    public private(set) var row: FeedRow
    private var firstRecord: Bool
    private let columnNames: [String]
    /// The dialect's constants by field index (a lookup per field and row otherwise), trimmed,
    /// in UTF-8.
    private let constants: [[UInt8]?]
    /// The line the rows start on: after the skipped lines and the header.
    private let dataStart: Int

    /// What a decoder of a later part of the same CSV file needs from the one that read the
    /// header: where each field's column is, and how many columns a row has.
    public struct CSVLayout: Sendable {
        fileprivate let columnIndex: [Int?]
        fileprivate let headerCount: Int?
        fileprivate let columnNames: [String]
        /// The first line after the skipped lines and the header: a part may start there or later.
        public let dataStart: Int
    }

    /// The layout of a CSV file's rows (nil for JSON).
    public var csvLayout: CSVLayout? {
        guard case .csv(_, let columnIndex, let headerCount) = reader else { return nil }
        return CSVLayout(columnIndex: columnIndex, headerCount: headerCount, columnNames: columnNames, dataStart: dataStart)
    }

    /// Reads a later part of a CSV file, from a record boundary on (see
    /// `CSVTokenizer.recordBoundaries`), with the layout the first part's decoder read.
    /// Its rows, lines and checks are the ones the whole file's decoder gives them, except
    /// that a repeated event id is only found within the part: compare `acceptedIDs`.
    public init(part source: Source, startingAt line: Int, layout: CSVLayout, sourceID: String, dialect: Dialect,
                rules: EventRules = EventRules(), today: CalendarDate) {
        precondition(dialect.format == .csv && line >= layout.dataStart, "a part starts after the header of a CSV file")
        let tokenizer = CSVTokenizer(source: source, delimiter: dialect.delimiter, quote: dialect.quote, firstLine: line)
        self.init(reader: .csv(tokenizer, columnIndex: layout.columnIndex, headerCount: layout.headerCount), columnNames: layout.columnNames,
                  dataStart: layout.dataStart, firstRecord: line == 1, sourceID: sourceID, dialect: dialect, rules: rules, today: today)
    }

    /// Fingerprints of the event ids accepted so far (see `fingerprint`): two parts of one file
    /// that share one would have marked the later row a duplicate if read as one.
    public var acceptedIDs: FingerprintSet { seenIDs }

    /// Opens the feed; reads and checks the header of a CSV file.
    public init(source: Source, sourceID: String, dialect: Dialect, rules: EventRules = EventRules(), today: CalendarDate) throws {
        switch dialect.format {
        case .csv:
            var tokenizer = CSVTokenizer(source: source, delimiter: dialect.delimiter, quote: dialect.quote)
            for _ in 0..<dialect.skipLines { _ = try tokenizer.next() }
            var columnIndex = [Int?](repeating: nil, count: EventField.allCases.count)
            var headerCount: Int?
            var names: [String] = []
            if dialect.hasHeader {
                guard try tokenizer.next() else { throw FeedError(.empty, line: nil, "the file is empty: no header and no rows") }
                names = try FeedDecoder.header(of: tokenizer, dialect: dialect)
                columnIndex = try FeedDecoder.match(header: names, dialect: dialect, line: tokenizer.line)
                headerCount = names.count
            } else {
                for (field, column) in dialect.columns {
                    if case .position(let position) = column { columnIndex[field.index] = position - 1 }
                }
            }
            self.init(reader: .csv(tokenizer, columnIndex: columnIndex, headerCount: headerCount), columnNames: names,
                      dataStart: tokenizer.nextLine, firstRecord: !dialect.hasHeader, sourceID: sourceID, dialect: dialect, rules: rules, today: today)
        case .jsonArray, .ndjson:
            self.init(reader: .json(JSONRecordReader(source: source, lineDelimited: dialect.format == .ndjson, encoding: dialect.encoding)),
                      columnNames: [], dataStart: 1, firstRecord: true, sourceID: sourceID, dialect: dialect, rules: rules, today: today)
        }
    }

    private init(reader: Reader, columnNames: [String], dataStart: Int, firstRecord: Bool, sourceID: String, dialect: Dialect,
                 rules: EventRules, today: CalendarDate) {
        self.reader = reader
        self.columnNames = columnNames
        self.dataStart = dataStart
        self.firstRecord = firstRecord
        self.dialect = dialect
        self.mapper = EventMapper(source: sourceID, dialect: dialect)
        self.rules = rules
        self.today = today
        row = FeedRow(source: sourceID)
        constants = EventField.allCases.map { dialect.constants[$0].map { Array($0.trimmingWhitespace().utf8) } }
    }

    /// The current record's bytes as they stood in the file (for quarantine); valid until `next()`.
    public var rawRecord: [UInt8] {
        switch reader {
        case .csv(let tokenizer, _, _): tokenizer.rawRecord
        case .json(let reader): reader.rawRecord
        case .taken: []
        }
    }

    /// The next record, or nil at the end of the file.
    public mutating func next() throws -> DecodedRow? {
        guard let (line, problem) = try nextRecord() else { return nil }
        if let problem { return DecodedRow(line: line, result: .failure(problem)) }
        return DecodedRow(line: line, result: .success(row.event()))
    }

    /// Reads the next record: its line, and why it holds no event, or nil when `row` holds its
    /// event (until the next call). Nil at the end of the file.
    public mutating func nextRecord() throws -> (line: Int, problem: RowProblem?)? {
        // Nothing of the previous record stays readable in `row` once the next is read.
        row.removeAll()
        // Taken out by a swap, not a copy: the reader's buffers are not retained for each record.
        var current = Reader.taken
        swap(&current, &reader)
        switch consume current {
        case .csv(var tokenizer, let columnIndex, let headerCount):
            defer { reader = .csv(tokenizer, columnIndex: columnIndex, headerCount: headerCount) }
            return try nextCSV(&tokenizer, columnIndex: columnIndex, headerCount: headerCount)
        case .json(var jsonReader):
            defer { reader = .json(jsonReader) }
            do {
                guard try jsonReader.next() else { return nil }
            } catch let error as JSONSyntaxError {
                throw FeedError(.syntax, line: error.line, "the JSON is broken: \(error.message)")
            }
            if let malformation = jsonReader.malformation {
                return (jsonReader.line, RowProblem(.malformedRow, field: nil, "not a JSON object: \(malformation)"))
            }
            return (jsonReader.line, mapJSON(jsonReader.record))
        case .taken:
            preconditionFailure("FeedDecoder.next() called while it reads")
        }
    }

    private mutating func nextCSV(_ tokenizer: inout CSVTokenizer<Source>, columnIndex: [Int?], headerCount: Int?) throws -> (line: Int, problem: RowProblem?)? {
        guard try tokenizer.next() else { return nil }
        if firstRecord {
            firstRecord = false
            try FeedDecoder.checkByteOrderMark(tokenizer, dialect: dialect)
        }
        let line = tokenizer.line
        if let malformation = tokenizer.malformation {
            return (line, RowProblem(.malformedRow, field: nil, malformation))
        }
        if let headerCount, tokenizer.fieldCount != headerCount {
            return (line, RowProblem(.malformedRow, field: nil, "expected \(headerCount) fields like the header, got \(tokenizer.fieldCount)"))
        }
        for field in EventField.allCases {
            if let constant = constants[field.index] {
                row.set(field, constant)
                continue
            }
            guard let column = columnIndex[field.index] else { continue }
            guard column < tokenizer.fieldCount else {
                return (line, RowProblem(.malformedRow, field: nil, "expected at least \(column + 1) fields, got \(tokenizer.fieldCount)"))
            }
            let skipBOM = column == 0 && line == 1 && dialect.encoding == .utf8
            let encoding = dialect.encoding
            let valid = tokenizer.withField(column) { bytes in
                if skipBOM, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                    return row.set(field, decoding: UnsafeBufferPointer(rebasing: bytes[3...]), as: encoding)
                }
                return row.set(field, decoding: bytes, as: encoding)
            }
            guard valid else {
                let name = columnNames.indices.contains(column) ? columnNames[column] : "column \(column + 1)"
                return (line, RowProblem(.invalidEncoding, field: name, "the bytes are not valid \(dialect.encoding.rawValue)"))
            }
        }
        return (line, checked())
    }

    private mutating func mapJSON(_ record: JSONValue) -> RowProblem? {
        guard case .object = record else {
            return RowProblem(.malformedRow, field: nil, "expected a JSON object for each record")
        }
        for field in EventField.allCases {
            if let constant = constants[field.index] {
                row.set(field, constant)
                continue
            }
            guard case .path(let path)? = dialect.columns[field], let value = record.value(at: path) else { continue }
            switch value {
            case .object, .array:
                return RowProblem(.invalidValue, field: path.joined(separator: "."), "expected a string or a number, got a nested structure")
            default:
                if let text = value.text?.trimmingWhitespace() { row.set(field, text.utf8) }
            }
        }
        return checked()
    }

    /// Maps the current row and checks it: the dialect's codes, the rules, and that its event id
    /// is new in this file. Nil when the row holds an event.
    private mutating func checked() -> RowProblem? {
        if let problem = mapper.map(&row) { return problem }
        if let problem = rules.problem(with: row, today: today) { return problem }
        let inserted = seenIDs.insert(row.withTextBytes(.sourceEventID) { FeedDecoder.fingerprint($0!) })
        if !inserted {
            return RowProblem(.duplicateEventID, field: .sourceEventID, "the same source event id appears earlier in this file")
        }
        return nil
    }

    /// A 64-bit FNV-1a fingerprint: a million ids cost 16 MB instead of their strings.
    /// Two different ids share a fingerprint with odds of about 1 in 10^7 per million-row file.
    static func fingerprint(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func header(of tokenizer: CSVTokenizer<Source>, dialect: Dialect) throws -> [String] {
        if tokenizer.fieldCount > 0 { try checkByteOrderMark(tokenizer, dialect: dialect) }
        var names: [String] = []
        for index in 0..<tokenizer.fieldCount {
            let text: String? = tokenizer.withField(index) { bytes in
                if index == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                    return dialect.encoding.decode(UnsafeBufferPointer(rebasing: bytes[3...]))
                }
                return dialect.encoding.decode(bytes)
            }
            guard let name = text else {
                throw FeedError(.encoding, line: tokenizer.line, "the header is not valid \(dialect.encoding.rawValue)")
            }
            names.append(name.trimmingWhitespace())
        }
        return names
    }

    /// A UTF-8 byte-order mark in a file declared Windows-1252 or ISO-8859-1 means the file is
    /// really UTF-8: reading it as declared would turn every accent into mojibake.
    static func checkByteOrderMark(_ tokenizer: CSVTokenizer<Source>, dialect: Dialect) throws {
        guard dialect.encoding != .utf8, tokenizer.fieldCount > 0 else { return }
        let hasMark = tokenizer.withField(0) { $0.count >= 3 && $0[0] == 0xEF && $0[1] == 0xBB && $0[2] == 0xBF }
        if hasMark, tokenizer.line == 1 {
            throw FeedError(.encoding, line: 1, "the file starts with a UTF-8 byte-order mark, but the dialect says \(dialect.encoding.rawValue)")
        }
    }

    /// Finds each mapped column in the header; a missing mapped column or a column nobody
    /// mapped or ignored holds the whole file.
    static func match(header: [String], dialect: Dialect, line: Int) throws -> [Int?] {
        var positions: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            let key = Dialect.normalizedColumnName(name)
            if positions[key] != nil {
                throw FeedError(.headerMismatch, line: line, "the header names column \(name.debugDescription) twice")
            }
            positions[key] = index
        }
        var columnIndex = [Int?](repeating: nil, count: EventField.allCases.count)
        var missing: [String] = []
        var used = Set<Int>()
        for field in EventField.allCases {
            switch dialect.columns[field] {
            case .named(let name)?:
                if let position = positions[Dialect.normalizedColumnName(name)] {
                    columnIndex[field.index] = position
                    used.insert(position)
                } else {
                    missing.append(name)
                }
            case .position(let position)?:
                columnIndex[field.index] = position - 1
                used.insert(position - 1)
            default:
                break
            }
        }
        let ignored = Set(dialect.ignoredColumns.map(Dialect.normalizedColumnName))
        let unknown = header.enumerated()
            .filter { !used.contains($0.offset) && !ignored.contains(Dialect.normalizedColumnName($0.element)) }
            .map(\.element)
        if !missing.isEmpty || !unknown.isEmpty {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing mapped column(s): \(missing.joined(separator: ", "))") }
            if !unknown.isEmpty { parts.append("column(s) nobody mapped or ignored: \(unknown.joined(separator: ", "))") }
            throw FeedError(.headerMismatch, line: line, "the header does not match the dialect: " + parts.joined(separator: "; "),
                            missingColumns: missing, unknownColumns: unknown)
        }
        return columnIndex
    }
}
