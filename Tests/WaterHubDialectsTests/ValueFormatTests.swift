import Testing
import WaterHubCore
@testable import WaterHubDialects

@Suite struct ValueFormatTests {
    let belgian = AmountFormat(decimalSeparator: ",", thousandsSeparator: ".")
    let plain = AmountFormat(decimalSeparator: ".")

    @Test(arguments: [
        ("1.234,56", 123_456), ("1234,56", 123_456), ("0,5", 50), ("12", 1200), ("-0,00", 0), ("€ 12,50", 1250),
        ("12,50 EUR", 1250), ("1.234.567,89", 123_456_789), (" 7,00 ", 700),
    ])
    func belgianAmountsBecomeExactCents(text: String, cents: Int64) throws {
        #expect(try belgian.cents(from: text).get() == cents)
    }

    @Test(arguments: ["1,234,56", "12,345", "1.23,45", "abc", "", "-12,00", "12.34.5", "1..234,00", "12,", "1e3"])
    func malformedBelgianAmountsAreRefused(text: String) {
        guard case .failure(let problem) = belgian.cents(from: text) else {
            Issue.record("\(text.debugDescription) should be refused"); return
        }
        #expect(problem.code == .invalidAmount)
        #expect(problem.field == "amount_due")
    }

    /// The allocation-free path for common amounts gives exactly what the full parser gives, for
    /// every string of up to seven digits and separators, in both formats.
    @Test func theFastPathAgreesWithTheFullParser() {
        let alphabet: [Character] = ["0", "1", "9", ".", ","]
        var texts = [""]
        var fastOnes = 0
        for _ in 1...7 {
            texts = texts.flatMap { text in alphabet.map { text + String($0) } }
            for text in texts {
                for format in [belgian, plain] {
                    guard let fast = format.plainCents(text) else { continue }
                    fastOnes += 1
                    if (try? format.parsedCents(text).get()) != fast { Issue.record("\(text.debugDescription): fast \(fast)") }
                }
            }
        }
        #expect(fastOnes > 10_000)
        #expect(belgian.plainCents("1.694,10") == 169_410, "the common Belgian amount with a thousands separator")
    }

    @Test func amountsTooLargeForCentsAreRefusedNotOverflowed() throws {
        for text in ["999999999999999999", "9999999999999999,99", "999.999.999.999.999.999,00"] {
            for format in [belgian, plain] {
                guard case .failure(let problem) = format.cents(from: text) else { Issue.record("\(text) should be refused"); continue }
                #expect(problem.code == .invalidAmount)
            }
        }
        #expect(try plain.cents(from: "999999999999999.99").get() == 99_999_999_999_999_999)
    }

    @Test func pointDecimalsAndCentsUnits() throws {
        #expect(try plain.cents(from: "262.41").get() == 26_241)
        #expect(try plain.cents(from: "0.0").get() == 0)
        #expect(try AmountFormat(inCents: true).cents(from: "26241").get() == 26_241)
        #expect((try? plain.cents(from: "1.234,56").get()) == nil)
    }

    @Test(arguments: [
        ("dd/MM/yyyy", "16/11/2026", "2026-11-16"), ("d/M/yyyy", "6/1/2026", "2026-01-06"), ("dd-MM-yyyy", "01-02-2026", "2026-02-01"),
        ("yyyyMMdd", "20261116", "2026-11-16"), ("yyyy-MM-dd'T'HH:mm:ss", "2026-11-16T09:30:00", "2026-11-16"), ("dd.MM.yyyy", "29.02.2024", "2024-02-29"),
    ])
    func datesInEachFormat(pattern: String, text: String, iso: String) {
        #expect(DateFormat(pattern)?.date(from: text) == CalendarDate(iso: iso))
    }

    @Test func impossibleOrMisshapenDatesAreNil() {
        let format = DateFormat("dd/MM/yyyy")!
        for text in ["31/02/2026", "16/13/2026", "1/11/2026", "16/11/26", "16-11-2026", "16/11/2026 10:00", ""] {
            #expect(format.date(from: text) == nil, "\(text)")
        }
        #expect(DateFormat("dd/MM") == nil)
        #expect(DateFormat("dd/MM/yyyy Q") == nil)
    }

    /// Every single byte, alone and between ASCII letters, in both one-byte encodings, against the
    /// code points of their tables.
    @Test func everyByteDecodesToItsCodePoint() {
        for byte in UInt8.min...UInt8.max {
            let latin1 = String(Character(Unicode.Scalar(byte)))
            #expect(TextEncoding.latin1.decode([byte]) == latin1)
            #expect(TextEncoding.latin1.decode([0x41, byte, 0x42]) == "A" + latin1 + "B")
            let isHigh = byte >= 0x80 && byte < 0xA0
            let point = isHigh ? TextEncoding.windows1252High[Int(byte - 0x80)] : UInt32(byte)
            let windows = isHigh && point == 0 ? nil : String(Character(Unicode.Scalar(point)!))
            #expect(TextEncoding.windows1252.decode([0x41, byte, 0x42]) == windows.map { "A" + $0 + "B" }, "byte \(byte)")
            if let windows { #expect(TextEncoding.windows1252.encode(windows) == [byte]) }
        }
    }

    @Test func windows1252DecodesItsHighCharactersAndRefusesUndefinedBytes() {
        #expect(TextEncoding.windows1252.decode([0x48, 0xE9, 0x6C, 0xE8, 0x6E, 0x65]) == "Hélène")
        #expect(TextEncoding.windows1252.decode([0x80, 0x20, 0x31, 0x30]) == "€ 10")
        #expect(TextEncoding.windows1252.decode([0x41, 0x81]) == nil)
        #expect(TextEncoding.latin1.decode([0x80]) == "\u{80}")
        #expect(TextEncoding.utf8.decode([0xC3, 0xA9]) == "é")
        #expect(TextEncoding.utf8.decode([0xE9]) == nil)
        #expect(TextEncoding.windows1252.encode("Zoë €") == [0x5A, 0x6F, 0xEB, 0x20, 0x80])
    }
}
