import Foundation
import GRDB
import GRDBSQLite
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
        e.seq, e.version, e.is_current, e.household_id, e.source, e.source_event_id, e.type, e.event_date, e.customer_number,
        e.connection_id, e.name, e.street, e.house_number, e.box, e.postal_code, e.municipality, e.nis_code, e.phone,
        e.email, e.amount_due_cents, e.protected_customer, e.note, e.batch_id,
        (SELECT b.file_sha256 FROM batch_file b WHERE b.batch_id = e.batch_id), e.line
        """

    /// Events after a sequence number, in the order they were stored; at most `limit`.
    public func events(after seq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await events(after: seq, through: .max, matching: EventFilter(), limit: limit)
    }

    /// Events with `after < seq <= through` that match the filter, in the order they were
    /// stored; at most `limit` (one page of a keyset-paginated read).
    public func events(after seq: Int64, through end: Int64, matching filter: EventFilter, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            let (condition, arguments) = filter.sql
            let statement = try db.cachedStatement(sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e
                WHERE e.seq > ? AND e.seq <= ?\(condition) ORDER BY e.seq LIMIT ?
                """)
            return try fetchEvents(statement, arguments: [seq, end] + arguments + [limit])
        }
    }

    /// One page and where it ends, read in one snapshot: the page's events, and the next cursor
    /// (the last event's sequence number when the page is full, else the highest stored now,
    /// exactly as `pullEnd` gives it). A page of a usual size needs one read, not two.
    public func page(after seq: Int64, matching filter: EventFilter, limit: Int) async throws -> (events: [StoredEvent], end: Int64) {
        try await pool.read { db in
            let (condition, arguments) = filter.sql
            let statement = try db.cachedStatement(sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e
                WHERE e.seq > ?\(condition) ORDER BY e.seq LIMIT ?
                """)
            let events = try fetchEvents(statement, arguments: [seq] + arguments + [limit])
            if events.count == limit, let last = events.last { return (events, last.seq) }
            let highest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM event")) ?? 0
            return (events, max(seq, highest))
        }
    }

    /// Where a pull that starts after `seq` ends: the sequence number of the `limit`-th matching
    /// event, or (when fewer match, or without a limit) the last one stored now. Every matching
    /// event up to that end is in the answer, so the end is the next cursor even when the last
    /// events did not match the filter, and it can be sent before the rows (in a `Link` header).
    ///
    /// Read in one snapshot: SQLite has one writer, so a snapshot holds every sequence number up
    /// to its highest, and a later pull from the end misses nothing.
    public func pullEnd(after seq: Int64, matching filter: EventFilter, limit: Int?) async throws -> Int64 {
        try await pool.read { db in
            let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM event")) ?? 0
            guard let limit else { return max(seq, last) }
            let (condition, arguments) = filter.sql
            let limitth = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT e.seq FROM event e WHERE e.seq > ?\(condition) ORDER BY e.seq LIMIT 1 OFFSET ?
                """), arguments: [seq] + arguments + [limit - 1])
            return max(seq, limitth ?? last)
        }
    }

    /// Every version of one household's events, by event date and arrival; nil when the key is
    /// not a household of this town.
    public func events(ofHousehold key: String) async throws -> [StoredEvent]? {
        try await pool.read { db in
            guard let household = try householdID(key, in: db) else { return nil }
            return try fetchEvents(db.makeStatement(sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e
                WHERE e.household_id = ? ORDER BY e.event_date, e.seq
                """), arguments: [household])
        }
    }

    /// The current version of every event dated within `from...through`, with its household's
    /// case state now: the lines of a weekly report, by step, date and arrival.
    public func currentEvents(datedFrom start: CalendarDate, through end: CalendarDate) async throws -> [(event: StoredEvent, caseState: CaseState?)] {
        try await pool.read { db in
            let steps = EventType.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.stepOrder)" }.joined(separator: " ")
            return try fetchEvents(db.makeStatement(sql: """
                SELECT \(TenantDatabase.eventColumns), c.state FROM event e
                LEFT JOIN household_case c ON c.household_id = e.household_id
                WHERE e.is_current = 1 AND e.event_date BETWEEN ? AND ?
                ORDER BY CASE e.type \(steps) END, e.event_date, e.seq
                """), arguments: [start.iso, end.iso]) { event, columns in
                (event, columns.text(25).flatMap(CaseState.init(rawValue:)))
            }
        }
    }

    /// The highest sequence number stored so far (0 when empty).
    public func lastSequence() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM event") ?? 0 }
    }

    /// Runs a query whose first columns are `eventColumns` and builds each event straight from
    /// SQLite's columns (no row copies, no generic decoding: pulls and exports read thousands).
    /// `make` may read further columns after them.
    func fetchEvents<T>(_ statement: Statement, arguments: StatementArguments,
                        _ make: (StoredEvent, EventColumns) -> T) throws -> [T] {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        var result: [T] = []
        let columns = EventColumns(handle: statement.sqliteStatement)
        while try cursor.next() != nil {
            result.append(make(storedEvent(columns), columns))
        }
        return result
    }

    func fetchEvents(_ statement: Statement, arguments: StatementArguments) throws -> [StoredEvent] {
        try fetchEvents(statement, arguments: arguments) { event, _ in event }
    }

    private func storedEvent(_ row: EventColumns) -> StoredEvent {
        let event = Event(
            source: row.text(4) ?? "", sourceEventID: row.text(5) ?? "", type: row.text(6).flatMap(EventType.init(rawValue:)) ?? .lacRequest,
            eventDate: row.text(7).flatMap { CalendarDate(iso: $0) } ?? CalendarDate(year: 1970, month: 1, day: 1)!,
            customerNumber: row.text(8), connectionID: row.text(9), name: row.text(10), street: row.text(11), houseNumber: row.text(12),
            box: row.text(13), postalCode: row.text(14), municipality: row.text(15), nisCode: row.text(16), phone: row.text(17),
            email: row.text(18), amountDueCents: row.integer(19), protectedCustomer: row.text(20).flatMap(ProtectedStatus.init(rawValue:)) ?? .unknown,
            note: row.text(21))
        return StoredEvent(seq: row.integer(0) ?? 0, version: Int(row.integer(1) ?? 0), isCurrent: row.integer(2) == 1,
                           household: keys.encode(row.integer(3) ?? 0), event: event,
                           provenance: .init(batchID: row.integer(22) ?? 0, fileSHA256: row.text(23) ?? "", line: Int(row.integer(24) ?? 0)))
    }
}

/// The columns of the current row of a stepping SQLite statement, read with SQLite's own calls.
struct EventColumns {
    let handle: SQLiteStatement

    func text(_ index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }

    func integer(_ index: Int32) -> Int64? {
        sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
    }
}

/// Which events a pull asks for: some types, and event dates within a range.
public struct EventFilter: Sendable, Hashable {
    /// Only these types; nil for all.
    public var types: Set<EventType>?
    /// Event dates on or after this day.
    public var since: CalendarDate?
    /// Event dates on or before this day.
    public var until: CalendarDate?

    public init(types: Set<EventType>? = nil, since: CalendarDate? = nil, until: CalendarDate? = nil) {
        self.types = types
        self.since = since
        self.until = until
    }

    /// The conditions on `e`, each starting with ` AND`, and their arguments.
    var sql: (condition: String, arguments: StatementArguments) {
        var condition = ""
        var arguments: StatementArguments = []
        if let types {
            condition += " AND e.type IN (\(types.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(types.map(\.rawValue).sorted())
        }
        if let since { condition += " AND e.event_date >= ?"; arguments += [since.iso] }
        if let until { condition += " AND e.event_date <= ?"; arguments += [until.iso] }
        return (condition, arguments)
    }
}

/// A household's case as a town reads it: the opaque key, the case, and its contact history.
public struct StoredCase: Sendable, Hashable {
    /// Internal id, for paging (never shown).
    public var id: Int64
    /// The household's opaque, stable key within this town.
    public var key: String
    public var householdCase: HouseholdCase
    /// The contacts the town recorded, as the follow-up rules need them.
    public var contacts: ContactHistory
}

extension TenantDatabase {
    /// Cases in household order after `afterID`, optionally of some states and one protected status.
    public func cases(afterID: Int64 = 0, limit: Int, states: Set<CaseState>? = nil, protected: ProtectedStatus? = nil) async throws -> [StoredCase] {
        try await pool.read { db in
            var sql = """
                SELECT \(CaseWriter.columns.map { "c.\($0)" }.joined(separator: ", ")),
                    (SELECT MAX(contact_date) FROM contact k WHERE k.household_id = c.household_id) AS last_contact_on,
                    (SELECT MAX(contact_date) FROM contact k WHERE k.household_id = c.household_id AND k.outcome = 'reached') AS last_reached_on
                FROM household_case c WHERE c.household_id > ?
                """
            var arguments: StatementArguments = [afterID]
            if let states {
                sql += " AND c.state IN (\(states.map { _ in "?" }.joined(separator: ", ")))"
                arguments += StatementArguments(states.map(\.rawValue).sorted())
            }
            if let protected { sql += " AND c.protected_customer = ?"; arguments += [protected.rawValue] }
            sql += " ORDER BY c.household_id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                StoredCase(id: row["household_id"], key: keys.encode(row["household_id"]), householdCase: CaseWriter.householdCase(row),
                           contacts: ContactHistory(lastContactOn: (row["last_contact_on"] as String?).flatMap { CalendarDate(iso: $0) },
                                                    lastReachedOn: (row["last_reached_on"] as String?).flatMap { CalendarDate(iso: $0) }))
            }
        }
    }

    /// The current events of every household, by household key (for checks and rebuilds).
    public func currentEventsByHousehold() async throws -> [String: [(event: Event, seq: Int64)]] {
        try await pool.read { db in
            let events = try fetchEvents(db.makeStatement(sql: """
                SELECT \(TenantDatabase.eventColumns) FROM event e WHERE e.is_current = 1 ORDER BY e.seq
                """), arguments: [])
            var result: [String: [(event: Event, seq: Int64)]] = [:]
            for stored in events {
                result[stored.household, default: []].append((stored.event, stored.seq))
            }
            return result
        }
    }
}
