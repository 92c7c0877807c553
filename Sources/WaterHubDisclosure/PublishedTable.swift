/// A table as it may be shown: every cell and every total is either published or withheld.
public struct PublishedTable: Sendable, Hashable {
    /// The row labels (e.g. towns).
    public let rowLabels: [String]
    /// The column labels (e.g. event types).
    public let columnLabels: [String]
    /// The cells, one array per row.
    public let cells: [[Disclosed<Int>]]
    /// The total of each row.
    public let rowTotals: [Disclosed<Int>]
    /// The total of each column.
    public let columnTotals: [Disclosed<Int>]
    /// The total of the whole table.
    public let grandTotal: Disclosed<Int>

    /// Creates a published table (e.g. one read back from storage), checking its shape and that no
    /// published count is negative; whether the figures agree with each other is for `audit`.
    public init(
        rowLabels: [String],
        columnLabels: [String],
        cells: [[Disclosed<Int>]],
        rowTotals: [Disclosed<Int>],
        columnTotals: [Disclosed<Int>],
        grandTotal: Disclosed<Int>
    ) throws(DisclosureError) {
        guard rowLabels.count == cells.count else {
            throw .labelCountMismatch(expected: cells.count, found: rowLabels.count)
        }
        guard rowTotals.count == cells.count else {
            throw .labelCountMismatch(expected: cells.count, found: rowTotals.count)
        }
        guard columnTotals.count == columnLabels.count else {
            throw .labelCountMismatch(expected: columnLabels.count, found: columnTotals.count)
        }
        for (row, entries) in cells.enumerated() {
            guard entries.count == columnLabels.count else {
                throw .raggedRow(row: row, expected: columnLabels.count, found: entries.count)
            }
        }
        let layout = TableLayout(rowCount: cells.count, columnCount: columnLabels.count)
        for position in layout.positions {
            let entry: Disclosed<Int> = switch position {
            case .cell(let row, let column): cells[row][column]
            case .rowTotal(let row): rowTotals[row]
            case .columnTotal(let column): columnTotals[column]
            case .grandTotal: grandTotal
            }
            guard let value = entry.publishedValue else { continue }
            guard value >= 0 else {
                switch position {
                case .cell(let row, let column): throw .negativeCount(row: row, column: column)
                case .rowTotal(let row): throw .negativeCount(row: row, column: layout.columnCount)
                case .columnTotal(let column): throw .negativeCount(row: layout.rowCount, column: column)
                case .grandTotal: throw .negativeCount(row: layout.rowCount, column: layout.columnCount)
                }
            }
            guard value <= CountTable.largestGrandTotal else { throw .countTooLarge }
        }
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.cells = cells
        self.rowTotals = rowTotals
        self.columnTotals = columnTotals
        self.grandTotal = grandTotal
    }

    init(table: CountTable, entries: [Disclosed<Int>]) {
        let layout = TableLayout(rowCount: table.rowCount, columnCount: table.columnCount)
        rowLabels = table.rowLabels
        columnLabels = table.columnLabels
        cells = (0..<table.rowCount).map { row in
            (0..<table.columnCount).map { column in entries[layout.index(of: .cell(row: row, column: column))] }
        }
        rowTotals = (0..<table.rowCount).map { entries[layout.index(of: .rowTotal(row: $0))] }
        columnTotals = (0..<table.columnCount).map { entries[layout.index(of: .columnTotal(column: $0))] }
        grandTotal = entries[layout.index(of: .grandTotal)]
    }

    /// The number of rows.
    public var rowCount: Int { rowLabels.count }
    /// The number of columns.
    public var columnCount: Int { columnLabels.count }

    /// The entry at a position (a cell or a total).
    public subscript(position: TablePosition) -> Disclosed<Int> {
        switch position {
        case .cell(let row, let column): cells[row][column]
        case .rowTotal(let row): rowTotals[row]
        case .columnTotal(let column): columnTotals[column]
        case .grandTotal: grandTotal
        }
    }

    /// Every position, in the order used to break ties: cells row by row, row totals, column totals, grand total.
    public var positions: [TablePosition] { layout.positions }

    /// The withheld positions, in the same order.
    public var suppressedPositions: [TablePosition] { positions.filter { self[$0].isSuppressed } }

    /// The grid to show, with labels: a header row, one row per table row ending with its total,
    /// and a last row of column totals ending with the grand total. Every withheld figure gets the
    /// same marker, whatever the reason, so readers cannot tell which figures were the small ones.
    public func displayGrid(suppressedMarker: String = "x", totalLabel: String = "Total") -> [[String]] {
        var grid: [[String]] = [[""] + columnLabels + [totalLabel]]
        for row in 0..<rowCount {
            grid.append([rowLabels[row]]
                + cells[row].map { $0.displayText(suppressedMarker: suppressedMarker) }
                + [rowTotals[row].displayText(suppressedMarker: suppressedMarker)])
        }
        grid.append([totalLabel]
            + columnTotals.map { $0.displayText(suppressedMarker: suppressedMarker) }
            + [grandTotal.displayText(suppressedMarker: suppressedMarker)])
        return grid
    }

    var layout: TableLayout { TableLayout(rowCount: rowCount, columnCount: columnCount) }

    /// The published figures in layout order, nil where withheld.
    var knownValues: [Int?] { positions.map { self[$0].publishedValue } }
}
