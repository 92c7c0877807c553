import Foundation
import Testing
import WaterHubCore
@testable import WaterHubDialects
import WaterHubTestSupport

@Suite struct FeedDecoderTests {
    let today = CalendarDate.day("2026-11-22")

    func decode(_ bytes: [UInt8], _ dialect: Dialect = .canonical, chunkSize: Int = 1 << 16) throws -> [DecodedRow] {
        var decoder = try FeedDecoder(source: InMemoryByteSource(bytes, chunkSize: chunkSize), sourceID: "test", dialect: dialect, today: today)
        var rows: [DecodedRow] = []
        while let row = try decoder.next() { rows.append(row) }
        return rows
    }

    func decode(_ text: String, _ dialect: Dialect = .canonical) throws -> [DecodedRow] {
        try decode(Array(text.utf8), dialect)
    }

    static let canonicalHeader = EventField.allCases.map(\.rawValue).joined(separator: ",")

    func canonicalRow(_ values: [EventField: String]) -> String {
        EventField.allCases.map { values[$0] ?? "" }.joined(separator: ",")
    }

    @Test func theCanonicalDialectReadsEveryField() throws {
        let row = canonicalRow([.sourceEventID: "E1", .type: "disconnection", .eventDate: "2026-11-16", .customerNumber: "C1",
                                .name: "An Voorbeeld", .street: "Kerkstraat", .houseNumber: "1", .postalCode: "2000",
                                .nisCode: "11002", .amountDue: "1234.50", .protectedCustomer: "yes"])
        let rows = try decode("\(Self.canonicalHeader)\n\(row)\n")
        let event = try #require(try rows.first?.result.get())
        #expect(event.type == .disconnection)
        #expect(event.amountDueCents == 123_450)
        #expect(event.protectedCustomer == .yes)
        #expect(event.nisCode == "11002")
        #expect(rows.first?.line == 2)
    }

    @Test func aRenamedColumnHoldsTheWholeFileAndNamesBothSides() {
        let header = Self.canonicalHeader.replacingOccurrences(of: "postal_code", with: "postcode")
        do {
            _ = try decode("\(header)\n")
            Issue.record("a renamed column must hold the file")
        } catch let error as FeedError {
            #expect(error.kind == .headerMismatch)
            #expect(error.missingColumns == ["postal_code"])
            #expect(error.unknownColumns == ["postcode"])
            #expect(error.line == 1)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func anEmptyFileIsAFileLevelError() {
        #expect(throws: FeedError.self) { try decode("") }
    }

    @Test func aHeaderOnlyFileHasNoRows() throws {
        #expect(try decode("\(Self.canonicalHeader)\r\n").isEmpty)
    }

    @Test func raggedRowsAndDuplicateIDsAreRowProblems() throws {
        let good = canonicalRow([.sourceEventID: "E1", .type: "warning_letter", .eventDate: "2026-11-16", .customerNumber: "C1", .postalCode: "2000"])
        let rows = try decode("\(Self.canonicalHeader)\n\(good)\nE2,warning_letter\n\(good)\n")
        #expect(rows.count == 3)
        #expect((try? rows[0].result.get()) != nil)
        #expect(rows.map(\.line) == [2, 3, 4])
        guard case .failure(let ragged) = rows[1].result, case .failure(let duplicate) = rows[2].result else {
            Issue.record("rows 3 and 4 must fail"); return
        }
        #expect(ragged.code == .malformedRow)
        #expect(duplicate.code == .duplicateEventID)
    }

    @Test func bytesInvalidInTheDeclaredEncodingNameTheLineAndColumn() throws {
        var dialect = Dialect.canonical
        dialect.encoding = .utf8
        var bytes = Array("\(Self.canonicalHeader)\nE1,warning_letter,2026-11-16,C1,,".utf8)
        bytes += [0xE9] // Windows-1252 é in a UTF-8 file
        bytes += Array(",,,,2000,,,,,,,\n".utf8)
        let rows = try decode(bytes, dialect)
        guard case .failure(let problem) = rows.first?.result else { Issue.record("must fail"); return }
        #expect(problem.code == .invalidEncoding)
        #expect(problem.field == "name")
        #expect(rows.first?.line == 2)
    }

    @Test func aUTF8FileDeclaredWindows1252IsHeldRatherThanMisread() {
        var dialect = Dialect.canonical
        dialect.encoding = .windows1252
        #expect(throws: FeedError.self) { try decode([0xEF, 0xBB, 0xBF] + Array("\(Self.canonicalHeader)\n".utf8), dialect) }
    }

    @Test func ndjsonKeepsGoingAfterABrokenLine() throws {
        var dialect = Dialect()
        dialect.format = .ndjson
        dialect.columns = [.sourceEventID: .path(["id"]), .type: .path(["t"]), .eventDate: .path(["d"]),
                           .customerNumber: .path(["c", "n"]), .postalCode: .path(["pc"]), .amountDue: .path(["a"])]
        let text = """
            {"id":"1","t":"warning_letter","d":"2026-11-16","c":{"n":"C1"},"pc":"2000","a":12.5}
            {"id":"2","t":
            {"id":"3","t":"reconnection","d":"2026-11-17","c":{"n":"C2"},"pc":9000}

            """
        let rows = try decode(text, dialect)
        #expect(rows.map(\.line) == [1, 2, 3])
        #expect(try rows[0].result.get().amountDueCents == 1250)
        guard case .failure(let broken) = rows[1].result else { Issue.record("line 2 is broken"); return }
        #expect(broken.code == .malformedRow)
        #expect(try rows[2].result.get().postalCode == "9000")
    }

    @Test func aTruncatedJSONArrayIsAFileLevelError() {
        var dialect = Dialect()
        dialect.format = .jsonArray
        dialect.columns = [.sourceEventID: .path(["id"])]
        #expect(throws: FeedError.self) { try decode(#"[{"id":"1"},{"id":"#, dialect) }
    }
}

/// The decoder cuts ASCII whitespace from a field's bytes before it writes them as UTF-8; the
/// result must be exactly what decoding the whole field and `trimmingWhitespace` give, whatever the
/// bytes: Unicode whitespace at the edges, combining marks after a space, invalid bytes.
@Suite struct FieldTrimmingTests {
    @Test func cuttingWhitespaceFromTheBytesGivesWhatTrimmingTheStringGives() {
        // Pieces that meet at the edges: ASCII whitespace, NBSP (0xA0 in the one-byte encodings,
        // C2 A0 in UTF-8), a combining acute accent (CC 81), U+2003 (E2 80 83), letters, é, and bytes
        // that are invalid in one encoding or another.
        let pieces: [[UInt8]] = [[0x20], [0x09], [0x0D, 0x0A], [0x0B], [0x0C], [0xA0], [0xC2, 0xA0], [0xCC, 0x81], [0xE2, 0x80, 0x83],
                                 [0x61], [0x5A], [0x31], [0xC3, 0xA9], [0xE9], [0x81], [0x85], [0xFF], [0x2C]]
        var generator = SeededGenerator(seed: 20261123)
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) { bytes += pieces.randomElement(using: &generator)! }
            for encoding in TextEncoding.allCases {
                let expected = encoding.decode(bytes)?.trimmingWhitespace()
                // Appended after other text, which must stay as it was, also when the bytes are invalid.
                var buffer: [UInt8] = [0x78, 0xC3, 0xA9]
                let valid = bytes.withUnsafeBufferPointer { encoding.appendTrimmed($0, to: &buffer) }
                #expect(buffer.prefix(3) == [0x78, 0xC3, 0xA9])
                let trimmed = valid ? String(decoding: buffer.dropFirst(3), as: UTF8.self) : nil
                #expect(trimmed == expected, "\(bytes) in \(encoding)")
                #expect(valid || buffer.count == 3)
            }
        }
    }
}
