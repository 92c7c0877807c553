/// A place in a table with margins: a cell, a row total, a column total or the grand total.
public enum TablePosition: Sendable, Hashable, CustomStringConvertible {
    /// The cell at a row and a column (both counted from 0).
    case cell(row: Int, column: Int)
    /// The total of a row.
    case rowTotal(row: Int)
    /// The total of a column.
    case columnTotal(column: Int)
    /// The total of the whole table.
    case grandTotal

    /// A short description such as `cell(2, 0)` or `row total 2`, for messages.
    public var description: String {
        switch self {
        case .cell(let row, let column): "cell(\(row), \(column))"
        case .rowTotal(let row): "row total \(row)"
        case .columnTotal(let column): "column total \(column)"
        case .grandTotal: "grand total"
        }
    }
}

/// A table of household counts (rows × columns, e.g. towns × event types) whose totals are derived.
public struct CountTable: Sendable, Hashable {
    /// The largest grand total accepted, far beyond any count of households.
    public static let largestGrandTotal = 1 << 40

    /// The row labels (e.g. towns).
    public let rowLabels: [String]
    /// The column labels (e.g. event types).
    public let columnLabels: [String]
    /// The counts, one array per row, each with one count per column.
    public let cells: [[Int]]
    /// The total of each row.
    public let rowTotals: [Int]
    /// The total of each column.
    public let columnTotals: [Int]
    /// The total of the whole table.
    public let grandTotal: Int

    /// Creates a table, checking that the shape matches the labels and that no count is negative.
    public init(rowLabels: [String], columnLabels: [String], cells: [[Int]]) throws(DisclosureError) {
        guard rowLabels.count == cells.count else {
            throw .labelCountMismatch(expected: cells.count, found: rowLabels.count)
        }
        for (row, counts) in cells.enumerated() {
            guard counts.count == columnLabels.count else {
                throw .raggedRow(row: row, expected: columnLabels.count, found: counts.count)
            }
            for (column, count) in counts.enumerated() {
                guard count >= 0 else { throw .negativeCount(row: row, column: column) }
                guard count <= Self.largestGrandTotal else { throw .countTooLarge }
            }
        }
        var rowTotals = [Int](repeating: 0, count: cells.count)
        var columnTotals = [Int](repeating: 0, count: columnLabels.count)
        var grandTotal = 0
        for (row, counts) in cells.enumerated() {
            for (column, count) in counts.enumerated() {
                rowTotals[row] += count
                columnTotals[column] += count
                grandTotal += count
                guard grandTotal <= Self.largestGrandTotal else { throw .countTooLarge }
            }
        }
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.cells = cells
        self.rowTotals = rowTotals
        self.columnTotals = columnTotals
        self.grandTotal = grandTotal
    }

    /// The number of rows.
    public var rowCount: Int { rowLabels.count }
    /// The number of columns.
    public var columnCount: Int { columnLabels.count }

    /// The count at a position (a cell or a total).
    public subscript(position: TablePosition) -> Int {
        switch position {
        case .cell(let row, let column): cells[row][column]
        case .rowTotal(let row): rowTotals[row]
        case .columnTotal(let column): columnTotals[column]
        case .grandTotal: grandTotal
        }
    }

    /// Every position, in the order used to break ties: cells row by row, row totals, column totals, grand total.
    public var positions: [TablePosition] {
        TableLayout(rowCount: rowCount, columnCount: columnCount).positions
    }
}

/// Numbers the positions of a table with margins, and describes its additive rules as a network.
///
/// The network has a source node, one node per row, one node per column and a sink node. Every
/// figure is an edge: the row total of row i runs from the source to row i, cell (i, j) from row i
/// to column j, the column total of column j from column j to the sink, and the grand total from
/// the sink back to the source. "Each row adds up to its total, each column adds up to its total,
/// the totals add up to the grand total" then says exactly: at every node, what flows in flows out.
struct TableLayout: Sendable, Hashable {
    let rowCount: Int
    let columnCount: Int

    var valueCount: Int { rowCount * columnCount + rowCount + columnCount + 1 }

    func index(of position: TablePosition) -> Int {
        switch position {
        case .cell(let row, let column):
            precondition((0..<rowCount).contains(row) && (0..<columnCount).contains(column), "No such cell.")
            return row * columnCount + column
        case .rowTotal(let row):
            precondition((0..<rowCount).contains(row), "No such row.")
            return rowCount * columnCount + row
        case .columnTotal(let column):
            precondition((0..<columnCount).contains(column), "No such column.")
            return rowCount * columnCount + rowCount + column
        case .grandTotal:
            return rowCount * columnCount + rowCount + columnCount
        }
    }

    func position(at index: Int) -> TablePosition {
        let cellCount = rowCount * columnCount
        if index < cellCount { return .cell(row: index / columnCount, column: index % columnCount) }
        if index < cellCount + rowCount { return .rowTotal(row: index - cellCount) }
        if index < cellCount + rowCount + columnCount { return .columnTotal(column: index - cellCount - rowCount) }
        return .grandTotal
    }

    var positions: [TablePosition] { (0..<valueCount).map(position(at:)) }

    var structure: AdditiveStructure {
        let source = 0
        let sink = rowCount + columnCount + 1
        func rowNode(_ row: Int) -> Int { 1 + row }
        func columnNode(_ column: Int) -> Int { 1 + rowCount + column }
        var tails: [Int] = []
        var heads: [Int] = []
        tails.reserveCapacity(valueCount)
        heads.reserveCapacity(valueCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                tails.append(rowNode(row))
                heads.append(columnNode(column))
            }
        }
        for row in 0..<rowCount {
            tails.append(source)
            heads.append(rowNode(row))
        }
        for column in 0..<columnCount {
            tails.append(columnNode(column))
            heads.append(sink)
        }
        tails.append(sink)
        heads.append(source)
        return AdditiveStructure(nodeCount: rowCount + columnCount + 2, tails: tails, heads: heads)
    }
}
