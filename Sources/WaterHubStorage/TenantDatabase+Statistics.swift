import GRDB
import WaterHubCore
import WaterHubStatistics

extension TenantDatabase {
    /// What the regional statistics need from this town, read in one snapshot: households per
    /// week, month and event type, anonymous durations, protected status per case state and the
    /// contacts per method. Read-only; no household id or key leaves this function.
    public func statisticsObservations() async throws -> TownObservations {
        try await pool.read { db in
            var builder = TownObservationsBuilder(tenant: tenant)
            // Every household's current events in date and arrival order, one household after another.
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT household_id, type, event_date FROM event WHERE is_current = 1 ORDER BY household_id, event_date, seq
                """)
            var current: Int64?
            while let row = try cursor.next() {
                let household: Int64 = row[0]
                if household != current {
                    builder.endHousehold()
                    current = household
                }
                guard let type = EventType(rawValue: row[1]), let date = CalendarDate(iso: row[2] as String) else { continue }
                builder.add(type, on: date)
            }
            builder.endHousehold()
            for row in try Row.fetchAll(db, sql: "SELECT state, protected_customer, COUNT(*) FROM household_case GROUP BY state, protected_customer") {
                guard let state = CaseState(rawValue: row[0]), let status = ProtectedStatus(rawValue: row[1]) else { continue }
                builder.addCases(state: state, protected: status, households: row[2])
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT method, COUNT(*), COUNT(DISTINCT household_id), SUM(outcome = 'reached') FROM contact GROUP BY method
                """) {
                guard let method = ContactMethod(rawValue: row[0]) else { continue }
                builder.addContacts(method: method, tally: ContactTally(contacts: row[1], households: row[2], reached: row[3]))
            }
            return builder.observations
        }
    }
}
