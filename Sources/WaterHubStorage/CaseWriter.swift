import GRDB
import GRDBSQLite
import WaterHubCore

/// Column names of the `household_case` table.
enum CaseColumns {
    static func stepColumn(_ type: EventType) -> String { "\(type.rawValue)_on" }
    static let steps = EventType.allCases.map(stepColumn)
}

/// Keeps each touched household's case up to date inside a batch transaction.
///
/// A new event is folded into its case; a correction (a new version) may change an earlier
/// step, so that case is rebuilt from the household's current events. Cases are held in
/// memory and written back when the cache is full or the batch ends, which keeps memory
/// bounded on a million-row batch while writing each case once per batch in the usual case.
///
/// The households the batch creates (most of a first load) have no stored case: their steps
/// are only collected, 32 bytes each, and at the end (or when `freshCapacity` are held) sorted
/// by household and arrival, folded, and each case written once, in household order. A large
/// town's first load then writes every case once, appended in order, where a case cache
/// smaller than the town wrote and read back many cases several times.
struct CaseWriter {
    private let db: Database
    private var pending: [Int64: HouseholdCase] = [:]
    private var rebuild = Set<Int64>()
    private let capacity: Int
    /// Steps of the households numbered `freshFloor` and up: created in this batch, case not
    /// written yet.
    private var fresh: [FreshStep] = []
    private var freshFloor = Int64.max
    /// One above the highest household created in this batch so far.
    private var createdCeiling = Int64.min
    private let freshCapacity: Int
    private let upsert: Statement
    /// Prepared when first needed (see `stored`).
    private var load: Statement?

    /// The columns of a case, in the order `householdCase(_:)` reads them.
    static let columns = ["household_id", "state", "opened_on", "last_event_on", "amount_due_cents", "protected_customer",
                          "event_count", "state_date", "state_seq", "amount_date", "amount_seq", "protected_date", "protected_seq"]
        + CaseColumns.steps
    static let loadSQL = "SELECT \(columns.joined(separator: ", ")) FROM household_case WHERE household_id = ?"
    /// Where the step columns start in `columns` (0-based).
    static let firstStep = columns.count - CaseColumns.steps.count

    init(db: Database, capacity: Int = 20_000) throws {
        self.db = db
        self.capacity = capacity
        freshCapacity = capacity * 16
        let columns = CaseWriter.columns
        upsert = try db.cachedStatement(sql: """
            INSERT INTO household_case (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT (household_id) DO UPDATE SET \(columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            """)
    }

    /// Notes a household the batch has just created (its number is above every household's
    /// before it): its steps are collected until its case is written.
    mutating func created(household: Int64) {
        if freshFloor == .max { freshFloor = household }
        createdCeiling = max(createdCeiling, household + 1)
    }

    /// Folds a new event into its household's case (a household created in this batch has no
    /// stored case to look up).
    mutating func add(_ step: CaseStep, household: Int64, isNew: Bool) throws {
        if household >= freshFloor {
            fresh.append(FreshStep(household: household, step: step))
            if fresh.count >= freshCapacity { try writeFresh() }
            return
        }
        if !rebuild.isEmpty && rebuild.contains(household) { return }
        if let index = pending.index(forKey: household) {
            // In place: a copy taken out of the dictionary would share its step dates with the
            // one left in it, and copy them to change them.
            pending.values[index].fold(step)
        } else if !isNew, var existing = try stored(household) {
            existing.fold(step)
            pending[household] = existing
        } else {
            pending[household] = HouseholdCase(first: step)
        }
        if pending.count >= capacity { try writePending() }
    }

    /// Marks a household's case to be rebuilt from its current events at the next flush.
    mutating func recompute(household: Int64) throws {
        // A household whose steps are still collected has its case written first: the rebuild
        // then reads its events like any other's.
        if household >= freshFloor { try writeFresh() }
        pending[household] = nil
        rebuild.insert(household)
        if rebuild.count >= capacity { try writePending() }
    }

    /// Writes every case not written yet.
    mutating func flush() throws {
        try writeFresh()
        try writePending()
    }

    /// Folds the collected steps of the households created in this batch, in each household's
    /// order of arrival (`seq`), and writes each case once, in household order. Their later
    /// steps go the usual way (the case is stored now).
    private mutating func writeFresh() throws {
        fresh.sort { ($0.household, $0.seq) < ($1.household, $1.seq) }
        var index = fresh.startIndex
        while index < fresh.endIndex {
            let household = fresh[index].household
            var householdCase = HouseholdCase(first: fresh[index].step)
            index += 1
            while index < fresh.endIndex, fresh[index].household == household {
                householdCase.fold(fresh[index].step)
                index += 1
            }
            try write(householdCase, household: household)
        }
        fresh.removeAll(keepingCapacity: true)
        if freshFloor != .max { freshFloor = createdCeiling }
    }

    /// Writes the cases held in the cache, and rebuilds the ones marked for it.
    private mutating func writePending() throws {
        for (household, householdCase) in pending { try write(householdCase, household: household) }
        pending.removeAll(keepingCapacity: true)
        // Prepared when first needed, like `stored`'s: a first load rebuilds nothing.
        let currentEvents = rebuild.isEmpty ? nil : try db.cachedStatement(sql: """
            SELECT type, event_date, amount_due_cents, protected_customer, seq
            FROM event WHERE household_id = ? AND is_current = 1
            """)
        for household in rebuild {
            if let rebuilt = HouseholdCase(steps: try currentSteps(currentEvents!, household: household)) {
                try write(rebuilt, household: household)
            } else {
                try db.cachedStatement(sql: "DELETE FROM household_case WHERE household_id = ?").execute(arguments: [household])
            }
        }
        rebuild.removeAll(keepingCapacity: true)
    }

    /// What the case takes from each of a household's current events, read straight from the
    /// statement's columns (a correction rebuilds its household's case from them).
    private func currentSteps(_ statement: Statement, household: Int64) throws -> [CaseStep] {
        let handle = statement.sqliteStatement
        try SQLiteBinding.check(sqlite3_bind_int64(handle, 1, household), db)
        var steps: [CaseStep] = []
        try SQLiteBinding.forEachRow(handle, db) {
            guard let type = SQLiteBinding.text(handle, column: 0).flatMap(EventType.init(rawValue:)),
                  let date = SQLiteBinding.text(handle, column: 1).flatMap({ CalendarDate(iso: $0) }) else {
                throw StorageError(.inconsistent, "an event of household \(household) has no valid type or date")
            }
            steps.append(CaseStep(type: type, date: date, amountDueCents: SQLiteBinding.integer(handle, column: 2),
                                  protected: SQLiteBinding.text(handle, column: 3).flatMap(ProtectedStatus.init(rawValue:)) ?? .unknown,
                                  seq: sqlite3_column_int64(handle, 4)))
        }
        return steps
    }

    /// The stored case of a household, read straight from the prepared statement's columns
    /// (a batch reads back every case it flushed before and meets again).
    private mutating func stored(_ household: Int64) throws -> HouseholdCase? {
        let load = try self.load ?? db.cachedStatement(sql: CaseWriter.loadSQL)
        self.load = load
        let handle = load.sqliteStatement
        try SQLiteBinding.check(sqlite3_bind_int64(handle, 1, household), db)
        var stored: HouseholdCase?
        try SQLiteBinding.forEachRow(handle, db) {
            stored = CaseWriter.householdCase(text: { SQLiteBinding.text(handle, column: Int32($0)) },
                                              integer: { SQLiteBinding.integer(handle, column: Int32($0)) })
        }
        return stored
    }

    /// Upserts one case, binding its values straight into the prepared statement (this runs once
    /// per household per batch, so it is on the ingest's hot path).
    private func write(_ householdCase: HouseholdCase, household: Int64) throws {
        let handle = upsert.sqliteStatement
        try SQLiteBinding.check(sqlite3_bind_int64(handle, 1, household), db)
        try SQLiteBinding.text(handle, 2, householdCase.state.rawValue, db)
        try SQLiteBinding.date(handle, 3, householdCase.openedOn, db)
        try SQLiteBinding.date(handle, 4, householdCase.lastEventOn, db)
        try SQLiteBinding.integer(handle, 5, householdCase.amountDueCents, db)
        try SQLiteBinding.text(handle, 6, householdCase.protectedCustomer.rawValue, db)
        try SQLiteBinding.integer(handle, 7, Int64(householdCase.eventCount), db)
        try SQLiteBinding.date(handle, 8, householdCase.stateOrder.date, db)
        try SQLiteBinding.integer(handle, 9, householdCase.stateOrder.seq, db)
        try SQLiteBinding.date(handle, 10, householdCase.amountOrder?.date, db)
        try SQLiteBinding.integer(handle, 11, householdCase.amountOrder?.seq, db)
        try SQLiteBinding.date(handle, 12, householdCase.protectedOrder?.date, db)
        try SQLiteBinding.integer(handle, 13, householdCase.protectedOrder?.seq, db)
        // Each step's date, or NULL for a step the household did not go through.
        for type in EventType.allCases {
            try SQLiteBinding.date(handle, Int32(CaseWriter.firstStep + 1 + type.stepOrder), householdCase.stepDates[type], db)
        }
        try SQLiteBinding.run(handle, db)
    }

    /// Reads a case back from a row whose first columns are `columns`, in that order.
    static func householdCase(_ row: Row) -> HouseholdCase {
        householdCase(text: { row[$0] }, integer: { row[$0] })
    }

    /// Reads a case back from columns in the order of `columns`, given by their index.
    static func householdCase(text: (Int) -> String?, integer: (Int) -> Int64?) -> HouseholdCase {
        func date(_ index: Int) -> CalendarDate? { text(index).flatMap { CalendarDate(iso: $0) } }
        func order(_ index: Int) -> EventOrder? {
            guard let date = date(index), let seq = integer(index + 1) else { return nil }
            return EventOrder(date: date, seq: seq)
        }
        var stepDates = StepDates()
        for (offset, type) in EventType.allCases.enumerated() {
            if let date = date(firstStep + offset) { stepDates[type] = date }
        }
        return HouseholdCase(
            state: text(1).flatMap(CaseState.init(rawValue:)) ?? .invited, stepDates: stepDates,
            openedOn: date(2)!, lastEventOn: date(3)!,
            amountDueCents: integer(4), protectedCustomer: text(5).flatMap(ProtectedStatus.init(rawValue:)) ?? .unknown,
            eventCount: Int(integer(6)!), stateOrder: order(7)!, amountOrder: order(9), protectedOrder: order(11))
    }
}

/// One step of a household created in this batch, as `CaseWriter` collects it: 32 bytes.
private struct FreshStep {
    let household: Int64
    let seq: Int64
    /// The amount due in cents, or -1 for none (an amount is never negative).
    let amount: Int64
    /// The date, `CalendarDate.packed`.
    let date: Int32
    let type: UInt8
    let protected: UInt8

    init(household: Int64, step: CaseStep) {
        self.household = household
        seq = step.seq
        amount = step.amountDueCents ?? -1
        date = step.date.packed
        type = UInt8(FreshStep.types.firstIndex(of: step.type)!)
        protected = UInt8(FreshStep.statuses.firstIndex(of: step.protected)!)
    }

    /// The cases in one array each, made once (`allCases` makes a new array at every call).
    private static let types = EventType.allCases
    private static let statuses = ProtectedStatus.allCases

    var step: CaseStep {
        CaseStep(type: FreshStep.types[Int(type)],
                 date: CalendarDate(packed: date),
                 amountDueCents: amount < 0 ? nil : amount, protected: FreshStep.statuses[Int(protected)], seq: seq)
    }
}
