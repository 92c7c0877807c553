import Crypto
import Foundation
import GRDB
import Testing
@testable import WaterHubStorage
import WaterHubCore
import WaterHubTestSupport

@Suite struct ContentHashTests {
    static let events = [
        Event(source: "aquaflan", sourceEventID: "E1", type: .warningLetter, eventDate: .day("2026-11-16"), customerNumber: "C1",
              postalCode: "9000", amountDueCents: 1000, note: ""),
        .withEveryField("E2"),
        Event(source: "aquaflan", sourceEventID: "E3", type: .reconnection, eventDate: .day("2026-01-02"), connectionID: "EAN 1",
              amountDueCents: 123_456_789, protectedCustomer: .no),
    ]

    /// The hashes kept in town files decide whether a repeated event is a correction: the input
    /// must stay exactly what they were written with — each field's text followed by 0x1F, or
    /// 0x1E alone for an absent field, in field order.
    @Test func theContentHashIsSHA256OfTheFieldsWithTheirSeparators() throws {
        for event in Self.events {
            let hash = try event.contentHash
            var reference: [UInt8] = []
            for field in EventField.allCases {
                if let value = event.value(of: field) { reference += Array(value.utf8) + [0x1F] } else { reference += [0x1E] }
            }
            let expected = Data(SHA256.hash(data: reference).prefix(16))
            #expect(hash.data == expected && expected.withUnsafeBytes { hash.matches($0) })
            #expect(!Data(expected.reversed()).withUnsafeBytes { hash.matches($0) } && !expected.prefix(15).withUnsafeBytes { hash.matches($0) })
        }
    }

    /// A new event stores no hash: the hash of its stored fields is its record's hash (an empty
    /// field stays apart from an absent one, the amount in cents gives its text again).
    @Test func aStoredVersionHashesAsTheRecordItWasStoredFrom() async throws {
        let directory = TemporaryDirectory("content-hash")
        let path = "\(directory.path)/44021-gent.sqlite"
        let database = try TenantDatabase(tenant: Tenant(nisCode: "44021", name: "Gent"), path: path)
        _ = try database.apply(batchID: 1, fileSHA256: "a", events: Self.events.enumerated().map { SpooledEvent(event: $1, line: $0 + 2) })
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let stored = try await queue.read { db in
            let statement = try db.makeStatement(sql: "SELECT content_hash IS NULL, \(EventWriter.fieldColumns.joined(separator: ", ")) FROM event ORDER BY seq")
            let handle = statement.sqliteStatement
            var stored: [(noHash: Bool, hash: ContentHash.Digest)] = []
            try SQLiteBinding.forEachRow(handle, db) { stored.append((SQLiteBinding.integer(handle, column: 0) == 1, ContentHash.ofStored(handle, from: 1))) }
            return stored
        }
        #expect(stored.count == Self.events.count && stored.allSatisfy(\.noHash))
        #expect(try stored.map(\.hash) == Self.events.map { try $0.contentHash })
    }
}
