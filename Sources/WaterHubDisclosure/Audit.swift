/// The exact range of values a figure can take, given everything that is published.
public struct FeasibleInterval: Sendable, Hashable, CustomStringConvertible {
    /// The smallest possible value.
    public let lower: Int
    /// The largest possible value, or nil when the published figures put no upper limit on it.
    public let upper: Int?

    /// Creates an interval; `upper` nil means unbounded.
    public init(lower: Int, upper: Int?) {
        self.lower = lower
        self.upper = upper
    }

    /// upper − lower, or nil when the interval is unbounded.
    public var width: Int? { upper.map { $0 - lower } }

    /// Whether the figure is pinned down exactly (a published figure, or a leak).
    public var isExact: Bool { upper == lower }

    /// Whether the interval is at least `range` wide (an unbounded interval always is).
    public func hasWidth(atLeast range: Int) -> Bool {
        guard let width else { return true }
        return width >= range
    }

    /// Whether a value lies in the interval.
    public func contains(_ value: Int) -> Bool {
        value >= lower && (upper.map { value <= $0 } ?? true)
    }

    /// `[lower, upper]`, with ∞ for an unbounded upper end.
    public var description: String { "[\(lower), \(upper.map(String.init) ?? "∞")]" }
}

/// What a reader can deduce from a published table: the feasible interval of every position.
public struct TableAudit: Sendable, Hashable {
    /// The interval of each cell, one array per row (a single value for published cells).
    public let cells: [[FeasibleInterval]]
    /// The interval of each row total.
    public let rowTotals: [FeasibleInterval]
    /// The interval of each column total.
    public let columnTotals: [FeasibleInterval]
    /// The interval of the grand total.
    public let grandTotal: FeasibleInterval
    /// The withheld positions, in table order.
    public let suppressedPositions: [TablePosition]

    /// The interval at a position.
    public subscript(position: TablePosition) -> FeasibleInterval {
        switch position {
        case .cell(let row, let column): cells[row][column]
        case .rowTotal(let row): rowTotals[row]
        case .columnTotal(let column): columnTotals[column]
        case .grandTotal: grandTotal
        }
    }

    /// The withheld positions whose interval is narrower than `range`: the ones that leak.
    public func positionsNarrower(than range: Int) -> [TablePosition] {
        suppressedPositions.filter { !self[$0].hasWidth(atLeast: range) }
    }
}

/// Computes, for every withheld figure of a published table, the exact interval a reader can deduce
/// from the published figures, the additive rules (rows and columns add up to their totals, the
/// totals add up to the grand total) and the given knowledge (non-negativity, perhaps more).
/// Throws `DisclosureError.noConsistentTable` when the published figures contradict each other.
public func audit(_ table: PublishedTable, assuming knowledge: AttackerKnowledge) throws(DisclosureError) -> TableAudit {
    let layout = table.layout
    guard let intervals = layout.structure.exactIntervals(
        known: table.knownValues, lowerBound: knowledge.lowestSuppressedValue
    ) else { throw .noConsistentTable }
    return TableAudit(layout: layout, intervals: intervals, suppressedPositions: table.suppressedPositions)
}

extension TableAudit {
    /// The audit of one table from the intervals of its figures in layout order.
    init(layout: TableLayout, intervals: [FeasibleInterval], suppressedPositions: [TablePosition]) {
        self.init(
            cells: (0..<layout.rowCount).map { row in
                (0..<layout.columnCount).map { column in intervals[layout.index(of: .cell(row: row, column: column))] }
            },
            rowTotals: (0..<layout.rowCount).map { intervals[layout.index(of: .rowTotal(row: $0))] },
            columnTotals: (0..<layout.columnCount).map { intervals[layout.index(of: .columnTotal(column: $0))] },
            grandTotal: intervals[layout.index(of: .grandTotal)],
            suppressedPositions: suppressedPositions
        )
    }
}
