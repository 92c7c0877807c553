import Testing
import WaterHubDisclosure
import WaterHubTestSupport

/// Checks the audit against plain enumeration: every table of whole numbers that agrees with the
/// published figures is listed, and the smallest and largest value of each withheld figure among
/// them must be exactly the audit's interval. The enumeration knows nothing of flows.
@Suite struct AuditBruteForceTests {
    /// The smallest and largest value of every withheld position over all consistent tables whose
    /// withheld cells lie in `lowest...cap`, or nil when there is no consistent table.
    static func enumeratedRanges(
        of published: PublishedTable, lowest: Int, cap: Int
    ) -> [TablePosition: ClosedRange<Int>]? {
        let rows = published.rowCount
        let columns = published.columnCount
        var cells = [[Int]](repeating: [Int](repeating: 0, count: columns), count: rows)
        var rowSums = [Int](repeating: 0, count: rows)
        var columnSums = [Int](repeating: 0, count: columns)
        var found: [TablePosition: ClosedRange<Int>]?

        func record() {
            let grand = rowSums.reduce(0, +)
            func fits(_ entry: Disclosed<Int>, _ value: Int) -> Bool {
                entry.publishedValue.map { $0 == value } ?? (value >= lowest)
            }
            guard fits(published.grandTotal, grand),
                  (0..<columns).allSatisfy({ fits(published.columnTotals[$0], columnSums[$0]) }) else { return }
            var ranges = found ?? [:]
            func note(_ position: TablePosition, _ value: Int) {
                guard published[position].isSuppressed else { return }
                let old = ranges[position] ?? value...value
                ranges[position] = min(old.lowerBound, value)...max(old.upperBound, value)
            }
            for row in 0..<rows {
                for column in 0..<columns { note(.cell(row: row, column: column), cells[row][column]) }
                note(.rowTotal(row: row), rowSums[row])
            }
            for column in 0..<columns { note(.columnTotal(column: column), columnSums[column]) }
            note(.grandTotal, grand)
            found = ranges
        }

        func place(_ index: Int) {
            if index == rows * columns { return record() }
            let row = index / columns
            let column = index % columns
            var candidates: ClosedRange<Int>
            if let value = published.cells[row][column].publishedValue {
                candidates = value...value
            } else {
                var highest = cap
                if let total = published.rowTotals[row].publishedValue { highest = min(highest, total - rowSums[row]) }
                if let total = published.columnTotals[column].publishedValue { highest = min(highest, total - columnSums[column]) }
                if let total = published.grandTotal.publishedValue { highest = min(highest, total - rowSums.reduce(0, +)) }
                guard highest >= lowest else { return }
                candidates = lowest...highest
                // The last cell of a row (or column) with a published total is forced.
                if column == columns - 1, let total = published.rowTotals[row].publishedValue {
                    let forced = total - rowSums[row]
                    guard candidates.contains(forced) else { return }
                    candidates = forced...forced
                }
                if row == rows - 1, let total = published.columnTotals[column].publishedValue {
                    let forced = total - columnSums[column]
                    guard candidates.contains(forced) else { return }
                    candidates = forced...forced
                }
            }
            for value in candidates {
                cells[row][column] = value
                rowSums[row] += value
                columnSums[column] += value
                let rowComplete = column == columns - 1
                let rowFits = !rowComplete || (published.rowTotals[row].publishedValue.map { $0 == rowSums[row] } ?? (rowSums[row] >= lowest))
                let columnFits = row != rows - 1 || (published.columnTotals[column].publishedValue.map { $0 == columnSums[column] } ?? true)
                if rowFits && columnFits { place(index + 1) }
                rowSums[row] -= value
                columnSums[column] -= value
            }
        }
        place(0)
        return found
    }

    /// An upper estimate of the number of tables the enumeration visits.
    static func searchSize(of published: PublishedTable, lowest: Int, cap: Int) -> Int {
        var size = 1
        for row in 0..<published.rowCount {
            for column in 0..<published.columnCount where published.cells[row][column].isSuppressed {
                let limits = [cap, published.rowTotals[row].publishedValue, published.columnTotals[column].publishedValue,
                              published.grandTotal.publishedValue].compactMap { $0 }
                size *= max(1, limits.min()! - lowest + 1)
                if size > 1_000_000 { return size }
            }
        }
        return size
    }

    static func smallTable(using generator: inout SeededGenerator) throws -> CountTable {
        let rows = Int.random(in: 1...3, using: &generator)
        let columns = Int.random(in: 1...3, using: &generator)
        return try makeTable((0..<rows).map { _ in
            (0..<columns).map { _ in
                let roll = Int.random(in: 0..<100, using: &generator)
                return roll < 25 ? 0 : roll < 70 ? Int.random(in: 1...4, using: &generator) : Int.random(in: 5...9, using: &generator)
            }
        })
    }

    @Test func theAuditAgreesWithEnumerationOnSmallTables() throws {
        var generator = SeededGenerator(seed: 42)
        var compared = 0
        var unbounded = 0
        var narrow = 0
        var contradictory = 0
        for _ in 0..<150 {
            let table = try Self.smallTable(using: &generator)
            var patterns = [suppress(table), try thresholdOnly(table),
                            suppress(table, policy: DisclosurePolicy(threshold: 3, attackerKnowledge: .nonNegativeCounts))]
            for _ in 0..<3 {
                patterns.append(try publishing(table, withholding: Set(table.positions.filter { _ in
                    Int.random(in: 0..<100, using: &generator) < 40
                })))
            }
            for published in patterns {
                for knowledge in [AttackerKnowledge.nonNegativeCounts, .suppressedValuesAreNonZero] {
                    let lowest = knowledge.lowestSuppressedValue
                    // Every vertex of the feasible region has cells no larger than the true grand
                    // total, so a cap just above it finds every exact bound; a figure the audit
                    // calls unbounded must reach the cap.
                    let cap = table.grandTotal + 2
                    guard Self.searchSize(of: published, lowest: lowest, cap: cap) <= 15_000 else { continue }
                    let enumerated = Self.enumeratedRanges(of: published, lowest: lowest, cap: cap)
                    let report: TableAudit
                    do {
                        report = try audit(published, assuming: knowledge)
                    } catch {
                        #expect(error == .noConsistentTable)
                        #expect(enumerated == nil, "audit found no table but enumeration did: \(published)")
                        contradictory += 1
                        continue
                    }
                    let ranges = try #require(enumerated, "enumeration found no table: \(published)")
                    for position in published.suppressedPositions {
                        let interval = report[position]
                        let range = try #require(ranges[position])
                        #expect(range.lowerBound == interval.lower, "\(position) of \(table.cells) assuming \(knowledge)")
                        if let upper = interval.upper {
                            if case .cell = position { #expect(upper < cap) }
                            #expect(range.upperBound == upper, "\(position) of \(table.cells) assuming \(knowledge)")
                        } else {
                            #expect(range.upperBound >= cap, "\(position) of \(table.cells) assuming \(knowledge)")
                            unbounded += 1
                        }
                        if !interval.hasWidth(atLeast: 2) { narrow += 1 }
                        compared += 1
                    }
                }
            }
        }
        // Enough cases of every kind were compared for the test to mean something.
        #expect(compared > 2_000)
        #expect(unbounded > 100)
        #expect(narrow > 100)
        #expect(contradictory > 10)
    }
}
