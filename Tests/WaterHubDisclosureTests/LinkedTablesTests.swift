import Testing
import WaterHubDisclosure
import WaterHubTestSupport

/// The weekly tables of a month and the month's regional list share figures: they are protected
/// together, and the audit sees them together.
@Suite struct LinkedTablesTests {
    /// Two weeks (2 towns × 3 types) whose month sums are published beside them.
    static func twoWeeks() throws -> LinkedTables {
        try LinkedTables(tables: [
            makeTable([[2, 30, 40], [1, 35, 40]]),
            makeTable([[22, 31, 40], [26, 30, 41]]),
        ])
    }

    @Test func theMonthSumsAreTheSumsOfTheWeeklyColumnTotals() throws {
        let linked = try Self.twoWeeks()
        #expect(linked.sums.counts == [51, 126, 161])
        #expect(linked.sums.total == 338)
    }

    @Test func weeksProtectedOneByOneLeakThroughThePublishedMonth() throws {
        // Each week on its own is protected; but the month's figure for the first type (51) minus
        // the second week's published total (48) gives the first week's withheld total (3) exactly.
        let linked = try Self.twoWeeks()
        let separately = linked.tables.map { suppress($0) }
        for (table, published) in zip(linked.tables, separately) {
            #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
        }
        let month = try PublishedList(labels: linked.sums.labels, entries: linked.sums.counts.map { .published($0) },
                                      total: .published(linked.sums.total))
        let together = PublishedLinkedTables(tables: separately, sums: month)
        let report = try audit(together, assuming: .suppressedValuesAreNonZero)
        let leaks = report.tables.enumerated().flatMap { index, table in table.positionsNarrower(than: 5).map { (index, $0) } }
        #expect(!leaks.isEmpty, "publishing the month beside separately protected weeks must leak in this example")
        #expect(report.tables[0][.columnTotal(column: 0)].isExact)

        // Suppressed together, nothing leaks, under either reader model.
        let joint = suppress(linked)
        for knowledge in [AttackerKnowledge.nonNegativeCounts, .suppressedValuesAreNonZero] {
            let jointReport = try audit(joint, assuming: knowledge)
            for table in jointReport.tables { #expect(table.positionsNarrower(than: 5).isEmpty) }
            #expect(jointReport.sums.protects(joint.sums, range: 5))
        }
        #expect(joint.tables[0][.columnTotal(column: 0)].isSuppressed)
        #expect(joint.sums.entries[0].isSuppressed || joint.tables[1][.columnTotal(column: 0)].isSuppressed)
    }

    @Test func aTotalFromFewHouseholdsIsWithheldThoughItsCountIsLarge() throws {
        // Town 0's total of 8 counts two kinds of steps of three households: fewer than k.
        let linked = try LinkedTables(tables: [makeTable([[4, 4, 0], [30, 40, 50], [20, 20, 20]])])
        let plain = suppress(linked)
        #expect(plain.tables[0].rowTotals[0] == .published(8) || plain.tables[0].rowTotals[0].isSuppressed)
        let sensitive = AdditionalSensitivity(tables: [[.rowTotal(row: 0)]], sums: [])
        let published = suppress(linked, additionallySensitive: sensitive)
        #expect(published.tables[0].rowTotals[0] == .suppressed(.primary))
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report.tables[0][.rowTotal(row: 0)].hasWidth(atLeast: 5))
        #expect(report.tables[0].positionsNarrower(than: 5).isEmpty)
    }

    @Test func everyWithheldFigureOfTwoHundredGeneratedMonthsIsProtected() throws {
        var generator = SeededGenerator(seed: 7_2026)
        var withheld = 0
        for index in 0..<200 {
            let weeks = Int.random(in: 1...5, using: &generator)
            let columns = Int.random(in: 2...6, using: &generator)
            let rows = Int.random(in: 2...5, using: &generator)
            var tables: [CountTable] = []
            for _ in 0..<weeks {
                let cells = (0..<rows).map { _ in
                    (0..<columns).map { _ in
                        switch Int.random(in: 0..<100, using: &generator) {
                        case ..<30: 0
                        case ..<65: Int.random(in: 1...4, using: &generator)
                        case ..<90: Int.random(in: 5...20, using: &generator)
                        default: Int.random(in: 21...200, using: &generator)
                        }
                    }
                }
                tables.append(try makeTable(cells))
            }
            let linked = try LinkedTables(tables: tables)
            let policy = GeneratedTableTests.policies[index % GeneratedTableTests.policies.count]
            let published = suppress(linked, policy: policy)
            #expect(suppress(linked, policy: policy) == published, "month \(index) differs between runs")
            for knowledge in policy.attackerKnowledge == .nonNegativeCounts ? [AttackerKnowledge.nonNegativeCounts] : [.nonNegativeCounts, .suppressedValuesAreNonZero] {
                let report = try audit(published, assuming: knowledge)
                for (week, table) in report.tables.enumerated() {
                    #expect(table.positionsNarrower(than: policy.protectionRange).isEmpty, "month \(index) week \(week)")
                    for position in tables[week].positions {
                        #expect(table[position].contains(tables[week][position]))
                        if let shown = published.tables[week][position].publishedValue { #expect(shown == tables[week][position]) }
                        if policy.isSensitive(tables[week][position]) { #expect(published.tables[week][position].isSuppressed) }
                    }
                }
                #expect(report.sums.protects(published.sums, range: policy.protectionRange), "month \(index) sums")
            }
            for (entry, count) in zip(published.sums.entries, linked.sums.counts) {
                if let shown = entry.publishedValue { #expect(shown == count) }
                if policy.isSensitive(count) { #expect(entry.isSuppressed) }
            }
            withheld += published.tables.reduce(0) { $0 + $1.suppressedPositions.count }
        }
        #expect(withheld > 500)
    }
}

/// Checks the linked audit against plain enumeration on tiny months: every assignment of the
/// withheld cells that reproduces every published figure (weekly totals and the month's sums) is
/// listed, and each withheld figure's smallest and largest value must be the audit's interval.
@Suite struct LinkedAuditBruteForceTests {
    @Test func theLinkedAuditMatchesAnExhaustiveSearchOnTinyMonths() throws {
        var generator = SeededGenerator(seed: 99)
        var checked = 0
        for _ in 0..<400 where checked < 40 {
            let tables = try (0..<2).map { _ in
                try makeTable((0..<2).map { _ in (0..<2).map { _ in [0, 1, 2, 3, 5][Int.random(in: 0..<5, using: &generator)] } })
            }
            let linked = try LinkedTables(tables: tables)
            let published = suppress(linked, policy: DisclosurePolicy(threshold: 3, protectionRange: 3))
            let withheldCells = published.tables.indices.flatMap { week in
                (0..<2).flatMap { row in (0..<2).compactMap { column in
                    published.tables[week][.cell(row: row, column: column)].isSuppressed ? (week, row, column) : nil
                } }
            }
            // A withheld cell is at most the largest published figure it adds into; one that no published
            // figure bounds can rise without limit. Searching one past the largest published figure
            // sees both: bounded figures stay inside, unbounded ones reach the end of the search.
            let largest = published.tables.flatMap { table in table.positions.compactMap { table[$0].publishedValue } }.max() ?? 0
            let cap = max(largest, published.sums.total.publishedValue ?? 0) + 2
            let total = (0..<withheldCells.count).reduce(1) { product, _ in product * cap }
            guard !withheldCells.isEmpty, total <= 60_000 else { continue }
            checked += 1
            // Every figure of a candidate month, in one list: per week its positions, then the sums and their total.
            func figures(_ cells: [[[Int]]]) -> [Int] {
                var values: [Int] = []
                var sums = [0, 0]
                for week in cells {
                    let columns = [week[0][0] + week[1][0], week[0][1] + week[1][1]]
                    values += [week[0][0], week[0][1], week[1][0], week[1][1], week[0][0] + week[0][1], week[1][0] + week[1][1],
                               columns[0], columns[1], columns[0] + columns[1]]
                    sums[0] += columns[0]
                    sums[1] += columns[1]
                }
                return values + sums + [sums[0] + sums[1]]
            }
            let truth = figures(tables.map(\.cells))
            let shown: [Int?] = published.tables.flatMap { table in table.positions.map { table[$0].publishedValue } }
                + (published.sums.entries + [published.sums.total]).map(\.publishedValue)
            var lowest = [Int](repeating: Int.max, count: truth.count)
            var highest = [Int](repeating: Int.min, count: truth.count)
            var candidate = tables.map(\.cells)
            for code in 0..<total {
                var rest = code
                for (week, row, column) in withheldCells {
                    candidate[week][row][column] = 1 + rest % cap    // withheld figures are at least 1
                    rest /= cap
                }
                let values = figures(candidate)
                guard zip(values, shown).allSatisfy({ $1 == nil || $0 == $1 }) else { continue }
                for index in values.indices {
                    lowest[index] = min(lowest[index], values[index])
                    highest[index] = max(highest[index], values[index])
                }
            }
            let report = try audit(published, assuming: .suppressedValuesAreNonZero)
            let intervals = report.tables.flatMap { table in
                [TablePosition.cell(row: 0, column: 0), .cell(row: 0, column: 1), .cell(row: 1, column: 0), .cell(row: 1, column: 1),
                 .rowTotal(row: 0), .rowTotal(row: 1), .columnTotal(column: 0), .columnTotal(column: 1), .grandTotal].map { table[$0] }
            } + report.sums.entries + [report.sums.total]
            for index in truth.indices where shown[index] == nil {
                #expect(intervals[index].lower == lowest[index], "figure \(index) of \(tables.map(\.cells))")
                if let upper = intervals[index].upper {
                    #expect(upper == highest[index], "figure \(index) of \(tables.map(\.cells))")
                } else {
                    #expect(highest[index] >= cap, "figure \(index) of \(tables.map(\.cells)) is unbounded for the audit only")
                }
            }
        }
        #expect(checked >= 10)
    }
}
