import GRDB
import WaterHubCore
import WaterHubStatistics

extension Ledger {
    /// Feed health for the statistics: per source, the day of the last new file, and the rows read
    /// and quarantined per ISO week in which their batch arrived (releases of held rows excluded, so
    /// that a row is counted once).
    public func feedObservations(sources: [(id: String, name: String)]) throws -> [FeedObservations] {
        try pool.read { db in
            try sources.map { source in
                let last = try String.fetchOne(db, sql: "SELECT MAX(received_at) FROM delivery WHERE source = ?", arguments: [source.id])
                var rows: [ISOWeek: Int] = [:]
                var quarantined: [ISOWeek: Int] = [:]
                for row in try Row.fetchAll(db, sql: """
                    SELECT substr(created_at, 1, 10), COALESCE(rows_in, 0), COALESCE(quarantined, 0) FROM batch
                    WHERE source = ? AND release_of IS NULL AND status != 'routing'
                    """, arguments: [source.id]) {
                    guard let day = CalendarDate(iso: row[0] as String) else { continue }
                    rows[day.isoWeek, default: 0] += row[1] as Int
                    quarantined[day.isoWeek, default: 0] += row[2] as Int
                }
                return FeedObservations(source: source.id, name: source.name, lastDelivery: last.flatMap { CalendarDate(iso: $0.prefix(10)) },
                                        rowsPerWeek: rows, quarantinedPerWeek: quarantined)
            }
        }
    }
}
