import Crypto
import Foundation
import GRDB
import Testing
@testable import WaterHubStorage
import WaterHubCore
import WaterHubTestSupport

@Suite struct HouseholdKeyCodecTests {
    let codec = HouseholdKeyCodec(secret: Data((0..<32).map { UInt8($0) }))

    @Test func everyIdHasOneKeyAndItDecodesBack() {
        var seen = Set<String>()
        for id in Array(Int64(1)...5_000) + [Int64(1) << 40, Int64.max] {
            let key = codec.encode(id)
            #expect(key == codec.computeKey(id) && codec.encode(id) == key, "a remembered key is the computed one")
            #expect(key.count == HouseholdKeyCodec.length)
            #expect(codec.decode(key) == id)
            seen.insert(key)
        }
        #expect(seen.count == 5_002)
    }

    /// Keys are identifiers the towns keep: the round function is exactly HMAC-SHA256 as
    /// swift-crypto computes it, for any secret length.
    @Test func theRoundFunctionIsHMACSHA256() {
        for secret in [Data((0..<32).map { UInt8($0) }), Data(repeating: 7, count: 5), Data((0..<100).map { UInt8($0 % 251) })] {
            let codec = HouseholdKeyCodec(secret: secret)
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<500 {
                let round = UInt8.random(in: 0...3, using: &generator), half = UInt32.random(in: .min ... .max, using: &generator)
                let message = [round, UInt8(half >> 24), UInt8(half >> 16 & 0xFF), UInt8(half >> 8 & 0xFF), UInt8(half & 0xFF)]
                let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)).withUnsafeBytes { $0.load(as: UInt32.self) }
                #expect(codec.roundFunction(round, half) == expected)
            }
        }
    }

    @Test func neighbouringIdsGetUnrelatedKeys() {
        let keys = (1...50).map { codec.encode(Int64($0)) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.prefix(4) != $1.prefix(4) || $0.suffix(4) != $1.suffix(4) })
        #expect(keys.sorted() != keys)
    }

    @Test func textThatIsNoKeyDecodesToNothing() {
        for text in ["", "abc", "0000000000000", "zzzzzzzzzzzzz", "ABCDEFGHIJKLM", codec.encode(7) + "a"] {
            #expect(codec.decode(text) == nil, "\(text)")
        }
        let otherTown = HouseholdKeyCodec(secret: Data(repeating: 9, count: 32))
        #expect(otherTown.encode(7) != codec.encode(7))
    }

    /// A town file written before keys were computed is migrated: households keep their ids,
    /// events keep their household, and keys work.
    @Test func aFileFromBeforeTheMigrationKeepsItsHouseholds() async throws {
        let directory = TemporaryDirectory("v4")
        let path = "\(directory.path)/44021-gent.sqlite"
        let queue = try DatabaseQueue(path: path)
        let migrator = TenantDatabase.migrator
        try migrator.migrate(queue, upTo: "v4: contacts")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO household (id, key, source, kind, identifier) VALUES (5, 'oldrandomkey0000', 's', 'customer', 'C1')")
            try db.execute(sql: """
                INSERT INTO event (source, source_event_id, version, is_current, content_hash, household_id, type, event_date,
                                   protected_customer, batch_id, file_sha256, line, recorded_at)
                VALUES ('s', 'E1', 1, 1, x'00', 5, 'disconnection', '2026-11-16', 'no', 1, 'f', 2, '2026-11-16T00:00:00.000Z')
                """)
        }
        try queue.close()
        let database = try TenantDatabase(tenant: Tenant(nisCode: "44021", name: "Gent"), path: path)
        let events = try await database.events(after: 0, limit: 10)
        #expect(events.count == 1)
        #expect(database.keys.decode(events[0].household) == 5)
        #expect(try await database.events(ofHousehold: events[0].household)?.count == 1)
    }
}
