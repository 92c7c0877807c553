import Foundation
import Testing
import WaterHubCore
import WaterHubDialects
import WaterHubTestSupport

/// A Belgian dialect like most companies': `;`, Dutch headers, dd/MM/yyyy, decimal commas.
let belgianDialect: Dialect = {
    var dialect = Dialect()
    dialect.delimiter = UInt8(ascii: ";")
    dialect.encoding = .windows1252
    dialect.dateFormats = [DateFormat("dd/MM/yyyy")!]
    dialect.amount = AmountFormat(decimalSeparator: ",", thousandsSeparator: ".")
    dialect.columns = [.sourceEventID: .named("Ref"), .type: .named("Soort"), .eventDate: .named("Datum"),
                       .customerNumber: .named("Klant"), .postalCode: .named("Postcode"), .amountDue: .named("Bedrag"),
                       .name: .named("Naam"), .street: .named("Straat")]
    dialect.eventTypeCodes = ["VERW": .warningLetter, "AFSL": .disconnection]
    return dialect
}()

let belgianHeader = "Ref;Soort;Datum;Klant;Postcode;Bedrag;Naam;Straat"

func triage(_ bytes: [UInt8], dialect: Dialect = belgianDialect, chunkSize: Int = 1 << 16) throws -> [RowDecision] {
    let router = Router(reference: Repository.reference, tenants: ["11002", "44021"])
    var triage = try FeedTriage(source: InMemoryByteSource(bytes, chunkSize: chunkSize), sourceID: "test", dialect: dialect,
                                router: router, today: .day("2026-11-22"))
    var decisions: [RowDecision] = []
    while let decision = try triage.next() { decisions.append(decision) }
    return decisions
}

@Suite struct MalformedInputTests {
    /// One row after the header, and the reason (or nil: stored) it must get.
    @Test(arguments: [
        ("R1;VERW;16/11/2026;C1;2000;1.234,56;An;Kerkstraat", nil),
        ("R1;VERW;16/11/2026;C1;2000;-0,00;An;Kerkstraat", nil),
        ("R1;VERW;16/11/2026;C1;2000;;An;Kerkstraat", nil),
        ("\"R1\";\"VERW\";\"16/11/2026\";\"C1\";\"2000\";\"12,00\";\"An \"\"Zus\"\" Peeters\";\"Kerk;straat\"", nil),
        ("R1;VERW;31/02/2026;C1;2000;1,00;An;Kerkstraat", RowProblem.Code.invalidDate),
        ("R1;VERW;2026-11-16;C1;2000;1,00;An;Kerkstraat", .invalidDate),
        ("R1;VERW;16/11/1999;C1;2000;1,00;An;Kerkstraat", .dateOutOfRange),
        ("R1;VERW;16/11/2026;C1;2000;1,234,56;An;Kerkstraat", .invalidAmount),
        ("R1;VERW;16/11/2026;C1;2000;12.34;An;Kerkstraat", .invalidAmount),
        ("R1;VERW;16/11/2026;C1;2000;-5,00;An;Kerkstraat", .invalidAmount),
        ("R1;XXX;16/11/2026;C1;2000;1,00;An;Kerkstraat", .unknownEventType),
        (";VERW;16/11/2026;C1;2000;1,00;An;Kerkstraat", .missingField),
        ("R1;VERW;16/11/2026;;2000;1,00;An;Kerkstraat", .missingField),
        ("R1;AFSL;16/11/2026;C1;2000;1,00;;Kerkstraat", .missingField),
        ("R1;VERW;16/11/2026;C1;9999;1,00;An;Kerkstraat", .unknownPostalCode),
        ("R1;VERW;16/11/2026;C1;200;1,00;An;Kerkstraat", .unknownPostalCode),
        ("R1;VERW;16/11/2026;C1;1804;1,00;An;Kerkstraat", .ambiguousPostalCode),
        ("R1;VERW;16/11/2026;C1;2000;1,00;An", .malformedRow),
        ("R1;VERW;16/11/2026;C1;2000;1,00;An;Kerkstraat;extra", .malformedRow),
        ("\"R1;VERW;16/11/2026;C1;2000;1,00;An;Kerkstraat", .malformedRow),
    ] as [(String, RowProblem.Code?)])
    func eachMalformedRowGetsItsReason(row: String, expected: RowProblem.Code?) throws {
        for lineEnd in ["\n", "\r\n"] {
            let decisions = try triage(Array((belgianHeader + lineEnd + row + lineEnd).utf8))
            #expect(decisions.count == 1)
            switch (decisions.first, expected) {
            case (.routed(let tenant, _, let line)?, nil):
                #expect(tenant == "11002")
                #expect(line == 2)
            case (.quarantined(let problem, let line, let raw)?, let code?):
                #expect(problem.code == code, "\(row)")
                #expect(line == 2)
                #expect(!raw.isEmpty)
            default:
                Issue.record("\(row.debugDescription): expected \(String(describing: expected)), got \(String(describing: decisions.first))")
            }
        }
    }

    @Test func bytesInvalidInWindows1252AreAnEncodingProblem() throws {
        var bytes = Array((belgianHeader + "\nR1;VERW;16/11/2026;C1;2000;1,00;A").utf8)
        bytes.append(0x81)
        bytes += Array("n;Kerkstraat\n".utf8)
        guard case .quarantined(let problem, _, _)? = try triage(bytes).first else { Issue.record("must be held"); return }
        #expect(problem.code == .invalidEncoding)
        #expect(problem.field == "Naam")
    }

    @Test func theWholeFileIsHeldForAnEmptyFileOrAChangedHeader() throws {
        #expect(throws: FeedError.self) { try triage([]) }
        #expect(throws: FeedError.self) { try triage(Array("Ref;Soort;Datum;Klantnr;Postcode;Bedrag;Naam;Straat\n".utf8)) }
        #expect(try triage(Array((belgianHeader + "\r\n").utf8)).isEmpty)
    }
}

/// Random bytes and random mutations of the real demo files never crash the reader, and every
/// row still ends in exactly one place.
@Suite struct FeedFuzzTests {
    static let interesting: [UInt8] = Array(";,\"\r\n\t{}[]:\\".utf8) + [0x00, 0x80, 0x81, 0xC3, 0xE9, 0xEF, 0xBB, 0xBF, 0xFF]

    func mutate(_ input: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...12, using: &generator) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: bytes[index] = Self.interesting.randomElement(using: &generator)!
            case 1: bytes.insert(Self.interesting.randomElement(using: &generator)!, at: index)
            case 2: bytes.remove(at: index)
            case 3: bytes = Array(bytes[..<index])
            default: bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        return bytes
    }

    /// Runs a feed through triage; checks the accounting and that lines only go forward.
    func checkInvariant(_ bytes: [UInt8], dialect: Dialect, chunkSize: Int) {
        let router = Router(reference: Repository.reference, tenants: ["11002", "44021", "46030", "44088", "13040"])
        do {
            var triage = try FeedTriage(source: InMemoryByteSource(bytes, chunkSize: chunkSize), sourceID: "fuzz", dialect: dialect,
                                        router: router, today: .day("2026-11-22"))
            var rowsIn = 0, routed = 0, outside = 0, quarantined = 0, lastLine = 0
            while let decision = try triage.next() {
                rowsIn += 1
                let line: Int
                switch decision {
                case .routed(_, _, let at): routed += 1; line = at
                case .outsideRegion(_, let at): outside += 1; line = at
                case .quarantined(_, let at, _): quarantined += 1; line = at
                }
                #expect(line > lastLine)
                lastLine = line
                if rowsIn > 100_000 { Issue.record("runaway reader"); return }
            }
            #expect(rowsIn == routed + outside + quarantined)
        } catch is FeedError {
            // The whole file is held: acceptable for a broken header or JSON structure.
        } catch {
            Issue.record("unexpected error \(type(of: error))")
        }
    }

    @Test func mutatedDemoFeedsNeverCrashAndAlwaysBalance() throws {
        let configuration = (
            aquaflan: ("aquaflan-2026-W47.csv", belgianLikeAquaflan()),
            json: ("kempenwater-2026-W47.json", jsonDialect()))
        var generator = SeededGenerator(seed: 47)
        for (file, dialect) in [configuration.aquaflan, configuration.json] {
            let original = Array(try #require(FileManager.default.contents(atPath: "\(Repository.demoFeeds)/\(file)")))
            for round in 0..<150 {
                checkInvariant(mutate(original, using: &generator), dialect: dialect, chunkSize: [7, 64, 4096][round % 3])
            }
        }
        for _ in 0..<150 {
            let random = (0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            checkInvariant(random, dialect: belgianDialect, chunkSize: 13)
            checkInvariant(Array(belgianHeader.utf8) + [0x0A] + random, dialect: belgianDialect, chunkSize: 5)
        }
    }

    func belgianLikeAquaflan() -> Dialect {
        var dialect = belgianDialect
        dialect.columns = [.sourceEventID: .named("Referentie"), .type: .named("Soort"), .eventDate: .named("Datum"),
                           .customerNumber: .named("Klantnummer"), .connectionID: .named("Aansluiting"), .name: .named("Naam"),
                           .street: .named("Straat"), .houseNumber: .named("Huisnr"), .box: .named("Bus"), .postalCode: .named("Postcode"),
                           .municipality: .named("Gemeente"), .nisCode: .named("NIS"), .phone: .named("GSM"), .email: .named("E-mail"),
                           .amountDue: .named("Openstaand bedrag"), .protectedCustomer: .named("Beschermde klant"),
                           .note: .named("Verantwoordingsnota")]
        dialect.ignoredColumns = ["Dossierbeheerder"]
        dialect.eventTypeCodes = ["LAC": .lacRequest, "VERW": .warningLetter, "BPNN": .paymentPlanFailed, "AANK-BEGR": .flowLimitationAnnounced,
                                  "BEGR": .flowLimitation, "BEGR-WEG": .flowLimitationRemoved, "INT-AFSL": .intentToDisconnect,
                                  "AFSL": .disconnection, "HERAANSL": .reconnection]
        dialect.yesCodes = ["J"]
        dialect.noCodes = ["N"]
        return dialect
    }

    func jsonDialect() -> Dialect {
        var dialect = Dialect()
        dialect.format = .jsonArray
        dialect.dateFormats = [DateFormat("yyyy-MM-dd'T'HH:mm:ss")!]
        dialect.columns = [.sourceEventID: .path(["id"]), .type: .path(["event"]), .eventDate: .path(["timestamp"]),
                           .customerNumber: .path(["customer", "number"]), .name: .path(["customer", "name"]),
                           .street: .path(["address", "street"]), .postalCode: .path(["address", "zip"]), .amountDue: .path(["arrears"])]
        dialect.eventTypeCodes = ["DISCONNECTED": .disconnection, "RECONNECTED": .reconnection, "LAC_INVITATION": .lacRequest,
                                  "WARNING": .warningLetter, "LIMITER_PLACED": .flowLimitation]
        return dialect
    }
}
