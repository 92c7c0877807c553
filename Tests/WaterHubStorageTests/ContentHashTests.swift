import Crypto
import Foundation
import Testing
@testable import WaterHubStorage
import WaterHubCore
import WaterHubTestSupport

@Suite struct ContentHashTests {
    /// The hash stored with every event version decides whether a repeated event is a
    /// correction: its input must stay exactly what the town files were written with — each
    /// field's text followed by 0x1F, or 0x1E alone for an absent field, in field order.
    @Test func theContentHashIsSHA256OfTheFieldsWithTheirSeparators() throws {
        let events = [
            Event(source: "aquaflan", sourceEventID: "E1", type: .warningLetter, eventDate: .day("2026-11-16"), customerNumber: "C1",
                  postalCode: "9000", amountDueCents: 1000),
            .withEveryField("E2"),
        ]
        for event in events {
            let bytes = SpooledEvent(event: event, line: 7).recordBytes
            var ranges: [Range<Int>?] = []
            let hash = try bytes.withUnsafeBufferPointer { buffer in
                try #require(SpoolRecord.split(buffer, into: &ranges))
                return ContentHash.of(SpoolRecord(bytes: buffer, ranges: ranges))
            }
            var reference: [UInt8] = []
            for field in EventField.allCases {
                if let value = event.value(of: field) { reference += Array(value.utf8) + [0x1F] } else { reference += [0x1E] }
            }
            let expected = Data(SHA256.hash(data: reference).prefix(16))
            #expect(hash.withUnsafeBytes { Data($0) } == expected && hash.matches(expected))
            #expect(!hash.matches(Data(expected.reversed())) && !hash.matches(expected.prefix(15)))
        }
    }
}
