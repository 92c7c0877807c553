import Testing
import WaterHubDialects

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
