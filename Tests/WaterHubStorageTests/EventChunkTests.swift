import Foundation
import GRDB
import Testing
import WaterHubCore
@testable import WaterHubStorage
import WaterHubTestSupport

/// Events are inserted a chunk at a time; a chunk with a repeat is undone and written one event
/// at a time. Whatever the chunk size, a town file must end up exactly as with one event per
/// statement: the same rows, the same seq numbers, the same cases.
@Suite struct EventChunkTests {
    let directory = TemporaryDirectory("event-chunks")
    let tenant = Tenant(nisCode: "44021", name: "Gent")
    let recordedAt = Date(timeIntervalSince1970: 1_795_000_000)

    func event(_ id: Int, customer: Int, amount: Int64, day: Int = 16) -> Event {
        Event(source: "aquaflan", sourceEventID: "E\(id)", type: EventType.allCases[(id + Int(amount)) % 9],
              eventDate: .day(String(format: "2026-10-%02d", 1 + (id + day) % 28)), customerNumber: "C\(customer)",
              name: "Naam \(id)", postalCode: "9000", amountDueCents: amount)
    }

    /// Three batches. The first: 100 new events over 30 households, with a correction and an
    /// identical repeat of earlier events inside it (at rows 40 and 75). The second: 50 new
    /// events among 20 re-sent ones (10 the same, 10 changed, one moved to another household).
    /// The third: 40 new events after those repeats.
    func batches() throws -> [TenantDatabase.SpooledBatch] {
        var first = (0..<100).map { event($0, customer: $0 % 30, amount: Int64(100 * $0)) }
        first.insert(event(5, customer: 5, amount: 1), at: 40)
        first.insert(event(6, customer: 6, amount: 600), at: 75)
        var second = (100..<150).map { event($0, customer: $0 % 40, amount: Int64($0)) }
        for resent in 0..<20 {
            let id = resent * 4
            let changed = resent % 2 == 0
            let again = event(id, customer: changed && resent == 4 ? 39 : id % 30, amount: Int64(100 * id) + (changed ? 1 : 0))
            second.insert(again, at: resent * 3)
        }
        let third = (150..<190).map { event($0, customer: $0 % 45, amount: Int64($0)) }
        return try [first, second, third].enumerated().map { index, events in
            let path = "\(directory.path)/batch\(index + 1).spool"
            let writer = try SpoolWriter(path: path)
            for (line, event) in events.enumerated() { try writer.append(event, line: line + 2) }
            try writer.close()
            return TenantDatabase.SpooledBatch(batchID: Int64(index + 1), fileSHA256: "sha\(index + 1)", spool: path, expectedCount: events.count)
        }
    }

    /// Applies the batches to a fresh town file, one transaction each, with this chunk size;
    /// returns the results and every row of the tables a batch writes, as text.
    func apply(chunkRows: Int) throws -> (results: [TenantDatabase.ApplyResult], rows: [[String]]) {
        let path = "\(directory.path)/chunks-\(chunkRows)/44021-gent.sqlite"
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = try TenantDatabase(tenant: tenant, path: path)
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let batches = try batches()
        let results = try batches.map { batch in
            try queue.write { db in
                try TenantDatabase.apply(batch, in: db, nisCode: tenant.nisCode, caseCacheCapacity: 10_000, recordedAt: recordedAt, chunkRows: chunkRows)
            }
        }
        let queries = ["SELECT *, hex(content_hash) FROM event ORDER BY seq", "SELECT * FROM household ORDER BY id",
                       "SELECT * FROM household_case ORDER BY household_id", "SELECT * FROM applied_batch ORDER BY batch_id",
                       "SELECT * FROM sqlite_sequence"]
        let rows = try queue.read { db in try queries.map { sql in try Row.fetchAll(db, sql: sql).map(\.description) } }
        return (results, rows)
    }

    @Test func anyChunkSizeWritesExactlyWhatOneEventAtATimeWrites() throws {
        let one = try apply(chunkRows: 1)
        #expect(one.results.map(\.eventsIn) == [102, 70, 40])
        #expect(one.results.map(\.stored) == [101, 60, 40] && one.results.map(\.unchanged) == [1, 10, 0])
        #expect(one.rows[0].count == 201)
        for chunkRows in [7, 32, 64] {
            let chunked = try apply(chunkRows: chunkRows)
            #expect(chunked.results == one.results, "chunks of \(chunkRows)")
            for (table, (rows, expected)) in zip(chunked.rows, one.rows).enumerated() {
                // Named by position only: a failure prints no row.
                let firstDifference = zip(rows, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                #expect(rows.count == expected.count && firstDifference == nil,
                        "chunks of \(chunkRows), query \(table): \(rows.count) rows for \(expected.count), first different at \(firstDifference ?? -1)")
            }
        }
    }
}
