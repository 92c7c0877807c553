import Foundation
import GRDB
import Synchronization
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics

extension DataDirectory {
    /// The regional cell's statistics: published figures only (`Tenants/statistics.sqlite`).
    public var statistics: String { "\(tenants)/statistics.sqlite" }
}

/// The regional cell's own store (`Tenants/statistics.sqlite`): only figures that passed
/// disclosure control, and the labels to show them. No personal data, no household key, no id
/// of anything in a town file; a withheld figure is NULL with `withheld = 1`, never why.
///
/// Each rebuild writes a complete new file and moves it over the old one, so readers always see
/// one whole build, and the same figures always give the same bytes. Readers notice a new file
/// (also one written by another process, `waterhub stats rebuild`) and reopen.
public final class StatisticsStore: Sendable {
    public let path: String
    private let reader = Mutex<(inode: UInt64, queue: DatabaseQueue)?>(nil)

    public init(path: String) {
        self.path = path
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: published figures") { db in
            // The store is always built as a new file from this migration (never migrated in
            // place), so its text may change; the tables with a row per week, town and type check
            // their codes in the form that needs no lookup table per inserted row (CodeCheck).
            let eventType = CodeCheck.oneOf("event_type", PublishedStatistics.columnCodes)
            let scope = "scope = 'region' OR scope GLOB '[0-9][0-9][0-9][0-9][0-9]'"
            try db.execute(sql: """
                CREATE TABLE meta (
                    name TEXT PRIMARY KEY CHECK (name IN ('threshold', 'protection_range', 'data_through')),
                    value TEXT NOT NULL
                ) STRICT;
                CREATE TABLE town (
                    nis TEXT PRIMARY KEY CHECK (nis GLOB '[0-9][0-9][0-9][0-9][0-9]'),
                    name TEXT NOT NULL,
                    position INTEGER NOT NULL UNIQUE
                ) STRICT;
                CREATE TABLE weekly_count (
                    week TEXT NOT NULL CHECK (week GLOB '[0-9][0-9][0-9][0-9]-W[0-5][0-9]'),
                    scope TEXT NOT NULL CHECK (\(scope)),
                    event_type TEXT NOT NULL CHECK \(eventType),
                    households INTEGER CHECK (households >= 0),
                    withheld INTEGER NOT NULL CHECK (withheld IN (0, 1)),
                    CHECK ((households IS NULL) = (withheld = 1)),
                    PRIMARY KEY (week, scope, event_type)
                ) STRICT;
                CREATE TABLE monthly_count (
                    month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
                    event_type TEXT NOT NULL CHECK \(eventType),
                    households INTEGER CHECK (households >= 0),
                    withheld INTEGER NOT NULL CHECK (withheld IN (0, 1)),
                    CHECK ((households IS NULL) = (withheld = 1)),
                    PRIMARY KEY (month, event_type)
                ) STRICT;
                CREATE TABLE duration (
                    measure TEXT NOT NULL CHECK (\(CodeCheck.inList("measure", DurationMeasure.allCases.map(\.rawValue)))),
                    scope TEXT NOT NULL CHECK (\(scope)),
                    households INTEGER CHECK (households IS NULL OR (households >= 0 AND scope = 'region')),
                    q1_centidays INTEGER,
                    median_centidays INTEGER,
                    q3_centidays INTEGER,
                    withheld INTEGER NOT NULL CHECK (withheld IN (0, 1)),
                    CHECK ((median_centidays IS NULL) = (withheld = 1) AND (q1_centidays IS NULL) = (withheld = 1) AND (q3_centidays IS NULL) = (withheld = 1)),
                    PRIMARY KEY (measure, scope)
                ) STRICT;
                CREATE TABLE protected_share (
                    state TEXT PRIMARY KEY CHECK (\(CodeCheck.inList("state", CaseState.allCases.map(\.rawValue)))),
                    percent INTEGER CHECK (percent BETWEEN 0 AND 100),
                    withheld INTEGER NOT NULL CHECK (withheld IN (0, 1)),
                    CHECK ((percent IS NULL) = (withheld = 1))
                ) STRICT;
                CREATE TABLE outreach (
                    method TEXT PRIMARY KEY CHECK (\(CodeCheck.inList("method", ContactMethod.allCases.map(\.rawValue)))),
                    households INTEGER CHECK (households >= 0),
                    contacts INTEGER CHECK (contacts >= 0),
                    reached_percent INTEGER CHECK (reached_percent BETWEEN 0 AND 100),
                    withheld INTEGER NOT NULL CHECK (withheld IN (0, 1)),
                    CHECK ((households IS NULL) = (withheld = 1) AND (contacts IS NULL) = (withheld = 1) AND (reached_percent IS NULL) = (withheld = 1))
                ) STRICT;
                CREATE TABLE feed (
                    source TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    last_delivery_on TEXT CHECK (last_delivery_on GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
                    quarantined_percent INTEGER CHECK (quarantined_percent BETWEEN 0 AND 100)
                ) STRICT;
                CREATE TABLE feed_week (
                    source TEXT NOT NULL REFERENCES feed(source),
                    week TEXT NOT NULL CHECK (week GLOB '[0-9][0-9][0-9][0-9]-W[0-5][0-9]'),
                    rows_rounded INTEGER NOT NULL CHECK (rows_rounded >= 0 AND rows_rounded % 10 = 0),
                    PRIMARY KEY (source, week)
                ) STRICT;
                """)
        }
        return migrator
    }()

    // MARK: writing

    /// Writes the figures as a new file and moves it over the store: readers see the old build
    /// or the new one, never half of one. The same figures give the same bytes.
    ///
    /// With `stampedAt`, the new file's modification time is set to that moment before it moves
    /// into place (the hub stamps a build with the time it began reading the towns).
    public func replace(with statistics: PublishedStatistics, stampedAt stamp: Date? = nil) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let building = "\(folder)/.statistics-\(UUID().uuidString).sqlite"
        StorageConfiguration.createPrivately(building)
        do {
            var configuration = Configuration()
            configuration.label = "statistics-build"
            configuration.foreignKeysEnabled = true
            let queue = try DatabaseQueue(path: building, configuration: configuration)
            try StatisticsStore.migrator.migrate(queue)
            try queue.write { db in try StatisticsStore.insert(statistics, into: db) }
            try queue.close()
            if let stamp { try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: building) }
            guard rename(building, path) == 0 else {
                throw StorageError(.damagedFile, "cannot move the new statistics into \(path) (errno \(errno))")
            }
        } catch {
            unlink(building)
            unlink("\(building)-journal")
            throw error
        }
    }

    private static func insert(_ statistics: PublishedStatistics, into db: Database) throws {
        func withheld<T>(_ value: Disclosed<T>) -> Int { value.isSuppressed ? 1 : 0 }
        try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('threshold', ?), ('protection_range', ?)",
                       arguments: [String(statistics.threshold), String(statistics.protectionRange)])
        if let through = statistics.dataThrough {
            try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('data_through', ?)", arguments: [through.iso])
        }
        for (position, town) in statistics.towns.enumerated() {
            try db.execute(sql: "INSERT INTO town (nis, name, position) VALUES (?, ?, ?)", arguments: [town.nisCode, town.name, position])
        }
        let weekly = try db.makeStatement(sql: "INSERT INTO weekly_count (week, scope, event_type, households, withheld) VALUES (?, ?, ?, ?, ?)")
        let types = PublishedStatistics.columnCodes
        let rows = statistics.towns.map(\.nisCode)
        for figures in statistics.weeks {
            let table = figures.table
            let week = figures.week.description
            for (row, nis) in rows.enumerated() {
                for (column, entry) in (table.cells[row] + [table.rowTotals[row]]).enumerated() {
                    try weekly.execute(arguments: [week, nis, types[column], entry.publishedValue, withheld(entry)])
                }
            }
            for (column, entry) in (table.columnTotals + [table.grandTotal]).enumerated() {
                try weekly.execute(arguments: [week, "region", types[column], entry.publishedValue, withheld(entry)])
            }
        }
        for figures in statistics.months {
            for (column, entry) in (figures.list.entries + [figures.list.total]).enumerated() {
                try db.execute(sql: "INSERT INTO monthly_count (month, event_type, households, withheld) VALUES (?, ?, ?, ?)",
                               arguments: [figures.month.description, types[column], entry.publishedValue, withheld(entry)])
            }
        }
        for figure in statistics.durations {
            let quartiles = figure.quartiles.publishedValue
            try db.execute(sql: """
                INSERT INTO duration (measure, scope, households, q1_centidays, median_centidays, q3_centidays, withheld) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [figure.measure.rawValue, figure.scope.code, figure.households, quartiles?.first, quartiles?.median,
                                 quartiles?.third, withheld(figure.quartiles)])
        }
        for figure in statistics.protectedShares {
            try db.execute(sql: "INSERT INTO protected_share (state, percent, withheld) VALUES (?, ?, ?)",
                           arguments: [figure.state.rawValue, figure.percent.publishedValue, withheld(figure.percent)])
        }
        for figure in statistics.outreach {
            let counts = figure.counts.publishedValue
            try db.execute(sql: "INSERT INTO outreach (method, households, contacts, reached_percent, withheld) VALUES (?, ?, ?, ?, ?)",
                           arguments: [figure.method.rawValue, counts?.households, counts?.contacts, counts?.reachedPercent, withheld(figure.counts)])
        }
        for feed in statistics.feeds {
            try db.execute(sql: "INSERT INTO feed (source, name, last_delivery_on, quarantined_percent) VALUES (?, ?, ?, ?)",
                           arguments: [feed.source, feed.name, feed.lastDelivery?.iso, feed.quarantinedPercent])
            for week in feed.roundedRowsPerWeek.keys.sorted() {
                try db.execute(sql: "INSERT INTO feed_week (source, week, rows_rounded) VALUES (?, ?, ?)",
                               arguments: [feed.source, week.description, feed.roundedRowsPerWeek[week]!])
            }
        }
    }

    // MARK: reading

    /// Runs a read on the current build (reopening when a rebuild replaced the file); nil when
    /// no build exists yet.
    public func read<T>(_ body: (Database) throws -> T) throws -> T? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let inode = UInt64(status.st_ino)
        let queue: DatabaseQueue = try reader.withLock { current in
            if let current, current.inode == inode { return current.queue }
            var configuration = Configuration()
            configuration.label = "statistics"
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            current = (inode, queue)
            return queue
        }
        return try queue.read(body)
    }

    /// Everything in the store, as it was published.
    public func load() throws -> PublishedStatistics? {
        try read { db in try StatisticsStore.load(from: db, townRows: true) }
    }

    /// Everything but the towns' rows of the weekly tables (each week's table keeps only its
    /// regional totals): what the overview needs.
    public func loadOverview() throws -> PublishedStatistics? {
        try read { db in try StatisticsStore.load(from: db, townRows: false) }
    }

    /// The overview, the week `choose` picks from it, and that week's whole table (nil when the
    /// week has no steps), read from one build: a rebuild moving in between cannot pair one
    /// build's towns with another's table.
    public func loadOverview(choosingWeek choose: (PublishedStatistics) -> ISOWeek)
        throws -> (overview: PublishedStatistics, week: ISOWeek, figures: WeeklyFigures?)? {
        try read { db in
            let overview = try StatisticsStore.load(from: db, townRows: false)
            let week = choose(overview)
            let figures = try StatisticsStore.weeklyFigures(db, towns: overview.towns, condition: "week = ?", arguments: [week.description],
                                                            townRows: true).first
            return (overview, week, figures)
        }
    }

    /// The disclosure policy the stored figures were published under (nil when no build exists).
    public func loadPolicy() throws -> (threshold: Int, protectionRange: Int)? {
        try read { db -> (threshold: Int, protectionRange: Int)? in
            let meta = try StatisticsStore.meta(db)
            guard let threshold = meta["threshold"].flatMap({ Int($0) }), let range = meta["protection_range"].flatMap({ Int($0) }) else { return nil }
            return (threshold, range)
        } ?? nil
    }

    /// The build's facts: threshold, protection range, the last day with data.
    static func meta(_ db: Database) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, value FROM meta").map { ($0[0] as String, $0[1] as String) })
    }

    static func towns(_ db: Database) throws -> [Tenant] {
        try Row.fetchAll(db, sql: "SELECT nis, name FROM town ORDER BY position").map { Tenant(nisCode: $0[0], name: $0[1]) }
    }

    static func disclosed(_ value: Int?) -> Disclosed<Int> {
        value.map { .published($0) } ?? .suppressed(.secondary)
    }

    /// Weekly figures; without `townRows`, each table has only its regional totals (no rows).
    static func weeklyFigures(_ db: Database, towns: [Tenant], condition: String, arguments: StatementArguments, townRows: Bool) throws -> [WeeklyFigures] {
        let types = PublishedStatistics.columnCodes
        let towns = townRows ? towns : []
        let column = Dictionary(uniqueKeysWithValues: types.enumerated().map { ($1, $0) })
        let row = Dictionary(uniqueKeysWithValues: towns.enumerated().map { ($1.nisCode, $0) })
        var grids: [String: [[Int?]]] = [:]
        var order: [String] = []
        let scopeCondition = townRows ? "" : " AND scope = 'region'"
        for record in try Row.fetchAll(db, sql: """
            SELECT week, scope, event_type, households FROM weekly_count WHERE \(condition)\(scopeCondition) ORDER BY week
            """, arguments: arguments) {
            let week: String = record[0]
            if grids[week] == nil {
                grids[week] = Array(repeating: Array(repeating: nil, count: types.count), count: towns.count + 1)
                order.append(week)
            }
            let scope: String = record[1]
            guard let x = column[record[2] as String], let y = scope == "region" ? towns.count : row[scope] else { continue }
            grids[week]![y][x] = record[3]
        }
        return try order.compactMap { text in
            guard let week = ISOWeek(text), let grid = grids[text] else { return nil }
            let table = try PublishedTable(
                rowLabels: towns.map(\.nisCode), columnLabels: PublishedStatistics.eventTypes.map(\.rawValue),
                cells: (0..<towns.count).map { y in (0..<types.count - 1).map { disclosed(grid[y][$0]) } },
                rowTotals: (0..<towns.count).map { disclosed(grid[$0][types.count - 1]) },
                columnTotals: (0..<types.count - 1).map { disclosed(grid[towns.count][$0]) },
                grandTotal: disclosed(grid[towns.count][types.count - 1]))
            return WeeklyFigures(week: week, table: table)
        }
    }

    static func load(from db: Database, townRows: Bool) throws -> PublishedStatistics {
        let meta = try meta(db)
        let towns = try towns(db)
        let weeks = try weeklyFigures(db, towns: towns, condition: "1", arguments: [], townRows: townRows)
        var months: [MonthlyFigures] = []
        var monthGrid: [String: [Int?]] = [:]
        var monthOrder: [String] = []
        let types = PublishedStatistics.columnCodes
        for row in try Row.fetchAll(db, sql: "SELECT month, event_type, households FROM monthly_count ORDER BY month") {
            let month: String = row[0]
            if monthGrid[month] == nil { monthGrid[month] = Array(repeating: nil, count: types.count); monthOrder.append(month) }
            if let index = types.firstIndex(of: row[1]) { monthGrid[month]![index] = row[2] }
        }
        for text in monthOrder {
            guard let month = StatisticsMonth(text), let grid = monthGrid[text] else { continue }
            let list = try PublishedList(labels: PublishedStatistics.eventTypes.map(\.rawValue), entries: grid.dropLast().map(disclosed),
                                         total: disclosed(grid[types.count - 1]))
            months.append(MonthlyFigures(month: month, list: list))
        }
        let durations = try Row.fetchAll(db, sql: """
            SELECT measure, scope, households, q1_centidays, median_centidays, q3_centidays FROM duration
            """).compactMap { row -> DurationFigure? in
            guard let measure = DurationMeasure(rawValue: row[0]) else { return nil }
            let quartiles: Disclosed<Quartiles> = if let first = row[3] as Int?, let median = row[4] as Int?, let third = row[5] as Int? {
                .published(Quartiles(first: first, median: median, third: third))
            } else { .suppressed(.secondary) }
            return DurationFigure(measure: measure, scope: StatisticsScope(code: row[1]), households: row[2], quartiles: quartiles)
        }.sorted { (DurationMeasure.allCases.firstIndex(of: $0.measure)!, $0.scope) < (DurationMeasure.allCases.firstIndex(of: $1.measure)!, $1.scope) }
        let shares = try Row.fetchAll(db, sql: "SELECT state, percent FROM protected_share").compactMap { row in
            CaseState(rawValue: row[0]).map { ProtectedShareFigure(state: $0, percent: disclosed(row[1])) }
        }.sorted { CaseState.allCases.firstIndex(of: $0.state)! < CaseState.allCases.firstIndex(of: $1.state)! }
        let outreach = try Row.fetchAll(db, sql: "SELECT method, households, contacts, reached_percent FROM outreach").compactMap { row -> OutreachFigure? in
            guard let method = ContactMethod(rawValue: row[0]) else { return nil }
            let counts: Disclosed<OutreachCounts> = if let households = row[1] as Int?, let contacts = row[2] as Int?, let reached = row[3] as Int? {
                .published(OutreachCounts(households: households, contacts: contacts, reachedPercent: reached))
            } else { .suppressed(.secondary) }
            return OutreachFigure(method: method, counts: counts)
        }.sorted { ContactMethod.allCases.firstIndex(of: $0.method)! < ContactMethod.allCases.firstIndex(of: $1.method)! }
        var roundedRows: [String: [ISOWeek: Int]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT source, week, rows_rounded FROM feed_week") {
            if let week = ISOWeek(row[1] as String) { roundedRows[row[0], default: [:]][week] = row[2] }
        }
        var feeds: [FeedFigure] = []
        for row in try Row.fetchAll(db, sql: "SELECT source, name, last_delivery_on, quarantined_percent FROM feed ORDER BY source") {
            let rounded = roundedRows[row[0] as String] ?? [:]
            feeds.append(FeedFigure(source: row[0], name: row[1], lastDelivery: (row[2] as String?).flatMap { CalendarDate(iso: $0) },
                                    roundedRowsPerWeek: rounded, quarantinedPercent: row[3]))
        }
        return PublishedStatistics(
            threshold: Int(meta["threshold"] ?? "") ?? 0, protectionRange: Int(meta["protection_range"] ?? "") ?? 0, towns: towns,
            dataThrough: meta["data_through"].flatMap { CalendarDate(iso: $0) }, weeks: weeks, months: months, durations: durations,
            protectedShares: shares, outreach: outreach, feeds: feeds)
    }
}
