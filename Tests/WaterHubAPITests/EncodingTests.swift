import Foundation
import HTTPTypes
import NIOCore
import Testing
@testable import WaterHubAPI
import WaterHubCore
@testable import WaterHubStorage

@Suite struct EncodingTests {
    @Test func jsonWriterWritesWhatAParserReadsBack() throws {
        let texts = ["plain", "", "quote \" and \\ backslash", "line\nbreak\r\ttab", "\u{01}\u{1F}control", "café – Ñ 😀", "\"", "\\"]
        let numbers: [Int64] = [0, 7, -7, 1_234_567_890, .max, .min]
        var json = JSONWriter(capacity: 16)
        json.beginObject()
        json.key("texts"); json.beginArray(); for text in texts { json.value(text) }; json.endArray()
        json.key("numbers"); json.beginArray(); for number in numbers { json.value(number) }; json.endArray()
        json.key("nested"); json.beginArray(); json.beginObject(); json.member("a", nil); json.key("b"); json.value(true); json.endObject()
        json.beginArray(); json.endArray(); json.beginObject(); json.endObject(); json.endArray()
        json.key("dynamic \"key\""); json.value(decimal: "12.25")
        json.endObject()
        let buffer = json.takeBuffer()
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
        #expect(parsed["texts"] as? [String] == texts)
        #expect((parsed["numbers"] as? [NSNumber])?.map(\.int64Value) == numbers)
        let nested = try #require(parsed["nested"] as? [Any])
        #expect(nested.count == 3)
        #expect((nested[0] as? [String: Any])?["a"] is NSNull && (nested[0] as? [String: Any])?["b"] as? Bool == true)
        #expect(parsed["dynamic \"key\""] as? Double == 12.25)
        #expect(json.buffer.readableBytes == 0, "taking the bytes empties the writer")
    }

    @Test func thePageCacheDropsWhatIsOutOfDateAndStaysWithinItsBounds() {
        let cache = PageCache(capacityBytes: 64 * 1024, capacityAnswers: 4)
        let v1 = DataVersion(generation: 1, value: 1), v2 = DataVersion(generation: 1, value: 2), other = DataVersion(generation: 2, value: 1)
        func key(_ town: String, _ after: Int) -> PageCache.Key { PageCache.Key(town: town, representation: "json", query: "after=\(after)") }
        let answer = PageCache.Answer(headers: HTTPFields(), body: ByteBuffer(string: "{\"events\":[]}"), rows: 0)
        cache.store(answer, for: key("11002", 0), at: v1)
        #expect(cache.answer(key("11002", 0), at: v1)?.rows == 0)
        #expect(cache.answer(key("44021", 0), at: v1) == nil, "another town's key")
        #expect(cache.answer(key("11002", 0), at: other) == nil, "another watching connection's version")
        #expect(cache.usage.answers == 0, "an answer found out of date is dropped")
        cache.store(answer, for: key("11002", 0), at: v1)
        cache.store(answer, for: key("11002", 1), at: v1)
        cache.store(answer, for: key("44021", 0), at: v1)
        #expect(cache.answer(key("11002", 0), at: v2) == nil && cache.usage.answers == 1, "a change drops every answer of that town, not another's")
        #expect(cache.answer(key("44021", 0), at: v1) != nil)
        for after in 0..<10 { cache.store(answer, for: key("11002", after), at: v1) }
        #expect(cache.usage.answers == 4)
        #expect(cache.answer(key("11002", 6), at: v1) != nil, "used again: now the most recently used")
        cache.store(answer, for: key("11002", 10), at: v1)
        #expect(cache.answer(key("11002", 7), at: v1) == nil && cache.answer(key("11002", 6), at: v1) != nil
                && cache.answer(key("11002", 10), at: v1) != nil, "the least recently used went first, not the oldest stored")
        #expect(cache.usage.bytes == 4 * (answer.body.readableBytes + PageCache.overheadBytes))
        let big = PageCache.Answer(headers: HTTPFields(), body: ByteBuffer(repeating: 0x20, count: 10_000), rows: 0)
        cache.store(big, for: key("11002", 99), at: v1)
        #expect(cache.answer(key("11002", 99), at: v1) == nil, "larger than an eighth of the capacity: not kept")
    }

    @Test func csvQuotesOnlyWhatMustBeQuoted() {
        var csv = CSVWriter(buffer: ByteBuffer())
        csv.begin(header: ["a", "b"])
        csv.field("plain")
        csv.field("semi;colon \"quoted\"\nnext line")
        csv.field(nil as String?)
        csv.field(Int64(42))
        csv.endRow()
        let text = String(buffer: csv.buffer)
        #expect(Array(text.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(text.dropFirst() == "a;b\r\nplain;\"semi;colon \"\"quoted\"\"\nnext line\";;42\r\n")
    }

    /// A cell a spreadsheet would run as a formula gets a leading quote; numbers and phone numbers stay.
    @Test(arguments: [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
                      ("-2+3", "'-2+3"), ("+32 475 12 34 56", "+32 475 12 34 56"), ("-12.50", "-12.50"), ("Kerkstraat", "Kerkstraat")])
    func formulasAreNeutralised(input: String, written: String) {
        #expect(CSVWriter.neutralised(input) == written)
    }

    @Test func amountsAreBelgian() {
        #expect(EuroAmount.text(123_456) == "1234,56")
        #expect(EuroAmount.text(5) == "0,05")
        #expect(EuroAmount.text(nil) == nil)
        #expect(EuroAmount.display(123_456_789) == "1.234.567,89")
        #expect(EuroAmount.display(99_900) == "999,00")
        #expect(EuroAmount.display(100_000) == "1.000,00")
    }

    @Test func aCursorBelongsToOneList() {
        for position: Int64 in [0, 1, 17, 1 << 40] {
            #expect(Cursor.decode(Cursor.encode(position, in: .cases), in: .cases) == position)
            #expect(Cursor.decode(Cursor.encode(position, in: .cases), in: .events) == nil)
        }
        #expect(Cursor.decode("ZTEuLTE") == nil, "e1.-1")
        #expect(Cursor.decode("ZTEuMQ==") == nil, "padding is not ours")
        #expect(Cursor.decode(String(repeating: "A", count: 41)) == nil)
    }

    @Test func aTokensBucketRefillsEvenly() {
        let limiter = RateLimiter(requestsPerMinute: 60)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 0..<60 { #expect(limiter.take("t", at: start) == nil) }
        #expect(limiter.take("t", at: start) == 1)
        #expect(limiter.take("other", at: start) == nil)
        #expect(limiter.take("t", at: start.addingTimeInterval(1)) == nil)
        #expect(limiter.take("t", at: start.addingTimeInterval(1)) == 1)
    }

    @Test func htmlIsEscaped() {
        #expect(HTML.escape("<script>\"x\" & 'y'</script>") == "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;")
        #expect(HTML.dutchDate(.init(year: 2026, month: 11, day: 2)!) == "2 november 2026")
    }
}
