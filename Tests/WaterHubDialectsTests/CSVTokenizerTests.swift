import Testing
import WaterHubDialects
import WaterHubTestSupport

@Suite struct CSVTokenizerTests {
    /// Every record's fields as text, and the line each record starts on.
    func records(_ text: String, delimiter: Character = ";", chunkSize: Int = 1 << 16) throws -> [(line: Int, fields: [String])] {
        var tokenizer = CSVTokenizer(source: InMemoryByteSource(text, chunkSize: chunkSize),
                                     delimiter: UInt8(ascii: delimiter.unicodeScalars.first!), quote: UInt8(ascii: "\""))
        var result: [(Int, [String])] = []
        while try tokenizer.next() {
            let fields = (0..<tokenizer.fieldCount).map { index in tokenizer.withField(index) { String(decoding: $0, as: UTF8.self) } }
            result.append((tokenizer.line, fields))
        }
        return result
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1 << 16])
    func quotedFieldsLineEndsAndChunkSeamsAgree(chunkSize: Int) throws {
        let text = "a;b;c\r\n\"x;1\";\"he said \"\"hi\"\"\";\"two\nlines\"\n\nlast;;\"\"\rend"
        let parsed = try records(text, chunkSize: chunkSize)
        #expect(parsed.map(\.fields) == [["a", "b", "c"], ["x;1", "he said \"hi\"", "two\nlines"], ["last", "", ""], ["end"]])
        #expect(parsed.map(\.line) == [1, 2, 5, 6])
    }

    @Test func anUnclosedQuoteIsReportedOnItsRecord() throws {
        var tokenizer = CSVTokenizer(source: InMemoryByteSource("a;b\n\"open;x\n"), delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "\""))
        #expect(try tokenizer.next())
        #expect(tokenizer.malformation == nil)
        #expect(try tokenizer.next())
        #expect(tokenizer.malformation != nil)
        #expect(tokenizer.line == 2)
        #expect(try tokenizer.next() == false)
    }

    @Test func theRawRecordIsKeptForQuarantine() throws {
        var tokenizer = CSVTokenizer(source: InMemoryByteSource("h1;h2\r\n\"q;1\";2\r\n", chunkSize: 3), delimiter: UInt8(ascii: ";"), quote: UInt8(ascii: "\""))
        _ = try tokenizer.next()
        _ = try tokenizer.next()
        #expect(String(decoding: tokenizer.rawRecord, as: UTF8.self) == "\"q;1\";2")
    }
}

@Suite struct CSVRecordBoundaryTests {
    let text = "h1;h2;h3\r\n\"x;1\";\"he said \"\"hi\"\"\";\"two\nlines\"\n\nlast;;\"\"\rend;a\"b;c\r\n\"q\r\nr\";\"\";3\n;;\nz;\"\n\";y"
    let semicolon = UInt8(ascii: ";"), quote = UInt8(ascii: "\"")

    func records(_ bytes: ArraySlice<UInt8>, firstLine: Int = 1) throws -> [[String]] {
        var tokenizer = CSVTokenizer(source: InMemoryByteSource(Array(bytes), chunkSize: 5), delimiter: semicolon, quote: quote, firstLine: firstLine)
        var result: [[String]] = []
        while try tokenizer.next() {
            result.append(["\(tokenizer.line)"] + (0..<tokenizer.fieldCount).map { index in tokenizer.withField(index) { String(decoding: $0, as: UTF8.self) } })
        }
        return result
    }

    /// Cut anywhere, the two sides read apart (the second from the boundary's line on) give the
    /// whole input's records and lines; the boundary is the first record start at or after the cut.
    @Test(arguments: [1, 2, 7, 1 << 16])
    func theTwoSidesOfEveryBoundaryReadAsTheWhole(chunkSize: Int) throws {
        let bytes = Array(text.utf8)
        #expect(try records(bytes[...]).count == 7)
        let starts = try checkEveryCut(bytes, chunkSize: chunkSize)
        // Every record start is found (blank lines are records too); several targets at once agree.
        #expect(starts.count == 8)
        let all = try CSVTokenizer.recordBoundaries(in: InMemoryByteSource(bytes, chunkSize: chunkSize), delimiter: semicolon, quote: quote,
                                                    at: Array(starts.dropFirst()))
        #expect(all.map(\.offset) == Array(starts.dropFirst()))
        // Inside the quoted line breaks no boundary is found: the cut after "two\n" goes on to the next record.
        let insideQuotes = Array("\"x;1\";\"he said".utf8).count + 10
        #expect(!starts.contains(insideQuotes))
    }

    /// Records without quotes (the scan's quick path), with every kind of line end.
    @Test(arguments: [1, 2, 7, 1 << 16])
    func recordsWithoutQuotesEndAtEveryKindOfLineEnd(chunkSize: Int) throws {
        let bytes = Array("a;b\r\nc;d\re;f\n\ng;h\r\r\ni;j\r".utf8)
        #expect(try records(bytes[...]).map { $0[0] } == ["1", "2", "3", "5", "7"])
        #expect(try checkEveryCut(bytes, chunkSize: chunkSize).count == 7)
    }

    /// Long records (the scan's quick path reads eight bytes at a time), with line ends and quotes
    /// at every position within a word: every cut still gives the whole.
    @Test(arguments: [3, 64, 1 << 16])
    func longRecordsWithLineEndsAndQuotesAnywhereAreCutRight(chunkSize: Int) throws {
        var generator = SeededGenerator(seed: 8)
        let lineEnds = ["\n", "\r\n", "\r"]
        var text = ""
        for record in 0..<24 {
            let plain = String(repeating: "abcdefghij", count: 4).prefix(Int.random(in: 0...37, using: &generator))
            text += record % 5 == 3 ? "\"\(plain);\r\n\(plain)\";\(plain)" : "\(plain);x\(record)"
            text += lineEnds.randomElement(using: &generator)!
        }
        let bytes = Array(text.utf8)
        let starts = try checkEveryCut(bytes, chunkSize: chunkSize)
        #expect(starts.count == 24)
    }


    /// Cuts the input at every offset and checks both sides read apart give the whole; returns
    /// the record starts found.
    func checkEveryCut(_ bytes: [UInt8], chunkSize: Int) throws -> [Int] {
        let whole = try records(bytes[...])
        var starts: [Int] = []
        for target in 0...bytes.count {
            let found = try CSVTokenizer.recordBoundaries(in: InMemoryByteSource(bytes, chunkSize: chunkSize), delimiter: semicolon, quote: quote, at: [target])
            guard let boundary = found.first else {
                #expect(target > starts.last ?? 0)
                continue
            }
            #expect(boundary.offset >= target)
            if starts.last != boundary.offset { starts.append(boundary.offset) }
            let joined = try records(bytes[..<boundary.offset]) + records(bytes[boundary.offset...], firstLine: boundary.line)
            #expect(joined == whole, "cut at \(target), boundary \(boundary)")
        }
        return starts
    }
}
