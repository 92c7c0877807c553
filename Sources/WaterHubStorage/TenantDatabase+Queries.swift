import Foundation
import GRDB
import WaterHubCore

/// An event as a town reads it: the canonical fields, its place in the town's sequence, its
/// version, its household's opaque key, and where it came from.
public struct StoredEvent: Sendable, Hashable {
    /// The town's sequence number: strictly increasing, never reused; the API's cursor.
    public var seq: Int64
    /// 1 for the first version of a source event; each correction adds one.
    public var version: Int
    /// Whether this is the latest version of its source event.
    public var isCurrent: Bool
    /// The household's opaque, stable key within this town.
    public var household: String
    public var event: Event
    public var provenance: Provenance

    /// Which file and line an event was read from.
    public struct Provenance: Sendable, Hashable {
        public var batchID: Int64
        public var fileSHA256: String
        public var line: Int
    }
}

extension TenantDatabase {
    static let eventColumns = """
        e.seq, e.version, e.is_current, h.key, e.source, e.source_event_id, e.type, e.event_date, e.customer_number,
        e.connection_id, e.name, e.street, e.house_number, e.box, e.postal_code, e.municipality, e.nis_code, e.phone,
        e.email, e.amount_due_cents, e.protected_customer, e.note, e.batch_id, e.file_sha256, e.line
        """

    /// Events after a sequence number, in the order they were stored; at most `limit`.
    public func events(after seq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e JOIN household h ON h.id = e.household_id
                WHERE e.seq > ? ORDER BY e.seq LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [seq, limit]).map(TenantDatabase.storedEvent)
        }
    }

    /// The highest sequence number stored so far (0 when empty).
    public func lastSequence() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM event") ?? 0 }
    }

    static func storedEvent(_ row: Row) -> StoredEvent {
        let event = Event(
            source: row[4], sourceEventID: row[5], type: EventType(rawValue: row[6]) ?? .lacRequest,
            eventDate: CalendarDate(iso: row[7] as String) ?? CalendarDate(year: 1970, month: 1, day: 1)!,
            customerNumber: row[8], connectionID: row[9], name: row[10], street: row[11], houseNumber: row[12], box: row[13],
            postalCode: row[14], municipality: row[15], nisCode: row[16], phone: row[17], email: row[18],
            amountDueCents: row[19], protectedCustomer: ProtectedStatus(rawValue: row[20]) ?? .unknown, note: row[21])
        return StoredEvent(seq: row[0], version: row[1], isCurrent: row[2], household: row[3], event: event,
                           provenance: .init(batchID: row[22], fileSHA256: row[23], line: row[24]))
    }
}

/// A household's case as a town reads it: the opaque key and the case.
public struct StoredCase: Sendable, Hashable {
    /// Internal id, for paging (never shown).
    public var id: Int64
    /// The household's opaque, stable key within this town.
    public var key: String
    public var householdCase: HouseholdCase
}

extension TenantDatabase {
    /// Cases in household order after `afterID`, optionally of one state and protected status.
    public func cases(afterID: Int64 = 0, limit: Int, state: CaseState? = nil, protected: ProtectedStatus? = nil) async throws -> [StoredCase] {
        try await pool.read { db in
            var sql = "SELECT c.*, h.key FROM household_case c JOIN household h ON h.id = c.household_id WHERE c.household_id > ?"
            var arguments: StatementArguments = [afterID]
            if let state { sql += " AND c.state = ?"; arguments += [state.rawValue] }
            if let protected { sql += " AND c.protected_customer = ?"; arguments += [protected.rawValue] }
            sql += " ORDER BY c.household_id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StoredCase(id: row["household_id"], key: row["key"], householdCase: CaseWriter.householdCase(row))
            }
        }
    }

    /// The current events of every household, by household key (for checks and rebuilds).
    public func currentEventsByHousehold() async throws -> [String: [(event: Event, seq: Int64)]] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e JOIN household h ON h.id = e.household_id WHERE e.is_current = 1 ORDER BY e.seq
                """)
            var result: [String: [(event: Event, seq: Int64)]] = [:]
            for row in rows {
                let stored = TenantDatabase.storedEvent(row)
                result[stored.household, default: []].append((stored.event, stored.seq))
            }
            return result
        }
    }
}
