import Testing
import WaterHubDisclosure

@Suite struct NaiveThresholdLeaksTests {
    @Test func aLoneSmallCellIsRecoveredBySubtractionFromItsRowTotal() throws {
        let table = try CountTable(
            rowLabels: ["Assen", "Emmen", "Meppel"],
            columnLabels: ["reminder", "formal notice", "disconnection"],
            cells: [[3, 20, 30], [10, 25, 40], [12, 14, 50]]
        )
        let naive = try thresholdOnly(table)
        #expect(naive.suppressedPositions == [.cell(row: 0, column: 0)])
        let leak = try audit(naive, assuming: .nonNegativeCounts)
        #expect(leak[.cell(row: 0, column: 0)] == FeasibleInterval(lower: 3, upper: 3))
        #expect(leak[.cell(row: 0, column: 0)].width == 0)

        let published = suppress(table)
        #expect(published[.cell(row: 0, column: 0)] == .suppressed(.primary))
        #expect(published.suppressedPositions.count > 1)
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report[.cell(row: 0, column: 0)].hasWidth(atLeast: 5))
    }

    @Test func smallCellsInOneRowAreRecoveredFromTheirColumnTotals() throws {
        // The row gives only the sum 2 + 3 = 5, but each column total gives its cell away.
        let table = try makeTable([[2, 3, 40], [20, 30, 40]])
        let leak = try audit(thresholdOnly(table), assuming: .nonNegativeCounts)
        #expect(leak[.cell(row: 0, column: 0)] == FeasibleInterval(lower: 2, upper: 2))
        #expect(leak[.cell(row: 0, column: 1)] == FeasibleInterval(lower: 3, upper: 3))
        #expect(problems(in: suppress(table), of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func aSmallRowTotalIsRecoveredFromTheGrandTotal() throws {
        let table = try makeTable([[1, 2, 0], [20, 30, 40], [25, 35, 45]])
        let naive = try thresholdOnly(table)
        #expect(naive.rowTotals[0] == .suppressed(.primary))
        let leak = try audit(naive, assuming: .nonNegativeCounts)
        #expect(leak[.rowTotal(row: 0)].isExact)
        #expect(leak[.cell(row: 0, column: 0)].isExact)
        let published = suppress(table)
        #expect(published.rowTotals[0] == .suppressed(.primary))
        #expect(published[.cell(row: 0, column: 2)] == .published(0))
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func knowingThatWithheldFiguresAreNonZeroNarrowsTheRange() throws {
        // Two withheld cells in one row, sharing 2 + 3 = 5: wide enough for a reader who only knows
        // counts are non-negative ([0, 5]), too narrow for one who knows zeros are published ([1, 4]).
        let table = try makeTable([[2, 3, 40], [20, 30, 40], [20, 30, 40]])
        let published = try publishing(table, withholding: [
            .cell(row: 0, column: 0), .cell(row: 0, column: 1),
            .cell(row: 1, column: 0), .cell(row: 1, column: 1),
        ])
        let weak = try audit(published, assuming: .nonNegativeCounts)
        let strong = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(weak[.cell(row: 0, column: 0)] == FeasibleInterval(lower: 0, upper: 5))
        #expect(strong[.cell(row: 0, column: 0)] == FeasibleInterval(lower: 1, upper: 4))
        #expect(problems(in: suppress(table), of: table, policy: DisclosurePolicy()).isEmpty)
    }
}

@Suite struct SuppressionChoiceTests {
    @Test func theCheapestRectangleOfCellsIsChosenAndTheMarginsStayPublished() throws {
        let table = try makeTable([[2, 10, 30], [10, 12, 30], [30, 30, 30]])
        let published = suppress(table)
        #expect(published.suppressedPositions == [
            .cell(row: 0, column: 0), .cell(row: 0, column: 1),
            .cell(row: 1, column: 0), .cell(row: 1, column: 1),
        ])
        #expect(published[.cell(row: 0, column: 0)] == .suppressed(.primary))
        #expect(published[.cell(row: 1, column: 1)] == .suppressed(.secondary))
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report[.cell(row: 0, column: 0)] == FeasibleInterval(lower: 1, upper: 11))
    }

    @Test func aLargerProtectionRangeWithholdsMore() throws {
        let table = try makeTable([[2, 10, 30, 9], [10, 12, 30, 8], [30, 30, 30, 40]])
        let standard = suppress(table)
        let wide = suppress(table, policy: DisclosurePolicy(threshold: 5, protectionRange: 15))
        #expect(problems(in: wide, of: table, policy: DisclosurePolicy(threshold: 5, protectionRange: 15)).isEmpty)
        #expect(wide.suppressedPositions.count > standard.suppressedPositions.count)
    }

    @Test func equalTablesGiveEqualResultsWhateverTheLabels() throws {
        let cells = [[4, 6, 6, 6], [6, 4, 6, 6], [6, 6, 4, 6]]
        let first = suppress(try makeTable(cells))
        let relabelled = suppress(try CountTable(rowLabels: ["c", "b", "a"], columnLabels: ["z", "y", "x", "w"], cells: cells))
        #expect(first.suppressedPositions == relabelled.suppressedPositions)
        #expect(first == suppress(try makeTable(cells)))
    }
}

@Suite struct EdgeCaseTests {
    @Test func aTableOfZerosIsPublishedInFull() throws {
        let table = try makeTable(Array(repeating: [0, 0, 0, 0], count: 3))
        let published = suppress(table)
        #expect(published.suppressedPositions.isEmpty)
        #expect(published.grandTotal == .published(0))
        #expect(try audit(published, assuming: .suppressedValuesAreNonZero).suppressedPositions.isEmpty)
    }

    @Test func aWholeRowOfSmallCellsIsProtected() throws {
        let table = try makeTable([[1, 2, 3, 4], [20, 30, 40, 50], [25, 35, 45, 55]])
        let published = suppress(table)
        for column in 0..<4 {
            #expect(published[.cell(row: 0, column: column)] == .suppressed(.primary))
        }
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func aTableWithOneRowIsProtected() throws {
        // With one row, each column total equals its cell, so it is withheld with it.
        let table = try makeTable([[3, 12, 0, 40, 7]])
        let published = suppress(table)
        #expect(published[.columnTotal(column: 0)] == .suppressed(.primary))
        #expect(published[.cell(row: 0, column: 2)] == .published(0))
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func aTableWithOneColumnIsProtected() throws {
        let table = try makeTable([[3], [12], [0], [40], [7]])
        let published = suppress(table)
        #expect(published[.rowTotal(row: 0)] == .suppressed(.primary))
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func marginsBelowTheThresholdAreWithheldThemselves() throws {
        let table = try makeTable([[1, 20], [2, 30], [0, 40]])
        let published = suppress(table)
        #expect(published.columnTotals[0] == .suppressed(.primary))
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func aTinyTableIsWithheldInFullExceptItsZeros() throws {
        let table = try makeTable([[1, 1], [1, 0]])
        let published = suppress(table)
        #expect(published.grandTotal == .suppressed(.primary))
        #expect(published[.cell(row: 1, column: 1)] == .published(0))
        #expect(published.suppressedPositions.count == 8)
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report.grandTotal.upper == nil)
        #expect(problems(in: published, of: table, policy: DisclosurePolicy()).isEmpty)
    }

    @Test func aTableWithoutRowsHasOnlyZeroTotals() throws {
        let table = try CountTable(rowLabels: [], columnLabels: ["reminder"], cells: [])
        let published = suppress(table)
        #expect(published.columnTotals == [.published(0)])
        #expect(published.grandTotal == .published(0))
    }

    @Test func malformedTablesAreRejected() {
        #expect(throws: DisclosureError.raggedRow(row: 1, expected: 2, found: 1)) {
            try CountTable(rowLabels: ["a", "b"], columnLabels: ["x", "y"], cells: [[1, 2], [3]])
        }
        #expect(throws: DisclosureError.negativeCount(row: 0, column: 1)) {
            try CountTable(rowLabels: ["a"], columnLabels: ["x", "y"], cells: [[1, -2]])
        }
        #expect(throws: DisclosureError.labelCountMismatch(expected: 1, found: 2)) {
            try CountTable(rowLabels: ["a", "b"], columnLabels: ["x"], cells: [[1]])
        }
        #expect(throws: DisclosureError.countTooLarge) {
            try CountTable(rowLabels: ["a", "b"], columnLabels: ["x"], cells: [[CountTable.largestGrandTotal], [1]])
        }
    }

    @Test func contradictoryPublishedFiguresAreReported() throws {
        let published = try PublishedTable(
            rowLabels: ["a"], columnLabels: ["x", "y"],
            cells: [[.published(7), .suppressed(.secondary)]],
            rowTotals: [.published(6)],
            columnTotals: [.published(7), .suppressed(.secondary)],
            grandTotal: .suppressed(.secondary)
        )
        #expect(throws: DisclosureError.noConsistentTable) { try audit(published, assuming: .nonNegativeCounts) }
    }
}

@Suite struct PolicyAndDisplayTests {
    @Test func theDefaultPolicyWithholdsOneToFourAndProtectsFiveWide() {
        let policy = DisclosurePolicy()
        #expect(policy.threshold == 5)
        #expect(policy.protectionRange == 5)
        #expect(policy.attackerKnowledge == .suppressedValuesAreNonZero)
        #expect((0...6).map(policy.isSensitive) == [false, true, true, true, true, false, false])
        #expect(DisclosurePolicy(threshold: 10).protectionRange == 10)
    }

    @Test func theDisplayShowsOneMarkerForEveryWithheldFigure() throws {
        let table = try CountTable(rowLabels: ["Assen", "Emmen"], columnLabels: ["notice", "cut"], cells: [[3, 20], [10, 25]])
        let published = suppress(table)
        #expect(published[.cell(row: 0, column: 0)] == .suppressed(.primary))
        #expect(published[.cell(row: 1, column: 1)] == .suppressed(.secondary))
        let grid = published.displayGrid(suppressedMarker: "•", totalLabel: "Totaal")
        #expect(grid == [
            ["", "notice", "cut", "Totaal"],
            ["Assen", "•", "•", "23"],
            ["Emmen", "•", "•", "35"],
            ["Totaal", "13", "45", "58"],
        ])
    }

    @Test func aStatisticNeedsAtLeastKHouseholds() {
        #expect(discloseStatistic(41.5, householdCount: 4) == .suppressed(.primary))
        #expect(discloseStatistic(41.5, householdCount: 5) == .published(41.5))
        #expect(discloseStatistic(0.0, householdCount: 0) == .suppressed(.primary))
        #expect(discloseStatistic(7, householdCount: 9, policy: DisclosurePolicy(threshold: 10)) == .suppressed(.primary))
    }
}

@Suite struct ListTests {
    @Test func aLoneSmallEntryIsProtectedWithTheNextSmallest() throws {
        let list = try CountList(labels: ["reminder", "notice", "cut", "plan"], counts: [3, 40, 50, 7])
        let naive = try PublishedList(
            labels: list.labels,
            entries: [.suppressed(.primary), .published(40), .published(50), .published(7)],
            total: .published(100)
        )
        #expect(try audit(naive, assuming: .nonNegativeCounts).entries[0] == FeasibleInterval(lower: 3, upper: 3))

        let published = suppress(list)
        #expect(published.entries == [.suppressed(.primary), .published(40), .published(50), .suppressed(.secondary)])
        #expect(published.total == .published(100))
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report.entries[0] == FeasibleInterval(lower: 1, upper: 9))
        #expect(report.protects(published, range: 5))
        #expect(published.displayRow() == ["x", "40", "50", "x", "100"])
    }

    @Test func aSmallTotalIsWithheldWithEverything() throws {
        let list = try CountList(labels: ["a", "b", "c"], counts: [1, 0, 2])
        let published = suppress(list)
        #expect(published.entries == [.suppressed(.primary), .published(0), .suppressed(.primary)])
        #expect(published.total == .suppressed(.primary))
        let report = try audit(published, assuming: .suppressedValuesAreNonZero)
        #expect(report.total == FeasibleInterval(lower: 2, upper: nil))
        #expect(report.protects(published, range: 5))
    }

    @Test func manySmallEntriesProtectEachOther() throws {
        let list = try CountList(labels: ["a", "b", "c", "d"], counts: [4, 4, 4, 30])
        let published = suppress(list)
        #expect(published.total == .published(42))
        #expect(published.entries[3] == .published(30))
        #expect(try audit(published, assuming: .suppressedValuesAreNonZero).protects(published, range: 5))
    }
}
