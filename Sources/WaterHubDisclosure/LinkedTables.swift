// Tables that share figures must be protected together.
//
// The cell sees one table per ISO week (towns × event types, with totals) and, per month, the
// region's figure per event type: the sum of that month's weekly regional figures. A month
// figure and three of its four weekly figures give away the fourth, however well each weekly
// table is protected on its own. So the weekly tables of one month and the month's list are
// suppressed as one structure, and the audit checks them as one.
//
// The structure is still a network, so the audit stays exact: every figure is an edge, and the
// additive rules are "what flows into a node flows out of it".
//
//   week w:   grand total (Z2 → s_w), town total (s_w → town), cell (town → type_w),
//             regional figure of the week (type_w → M_type)
//   month:    regional figure of the month (M_type → Z1), month total (Z1 → Z2)
//
// At M_type the weekly regional figures of a type add up to the month's; at Z2 the month total
// is the sum of the weekly grand totals. The rule of each weekly table that its column totals
// add up to its grand total follows from the others, so nothing is lost.
//
// A month is a whole number of weeks (the ISO weeks whose Thursday falls in it), so months never
// share a week and each month's structure is protected on its own.

/// The tables of consecutive periods with the same columns (the ISO weeks of one month), and the
/// list of their column totals summed over the periods (the month's figure per column) with its total.
public struct LinkedTables: Sendable, Hashable {
    /// The tables, in period order.
    public let tables: [CountTable]
    /// Per column, the sum of the tables' column totals; its total is the sum of the grand totals.
    public let sums: CountList

    /// Links tables that have the same column labels (at least one table).
    public init(tables: [CountTable]) throws(DisclosureError) {
        guard let first = tables.first else { throw .labelCountMismatch(expected: 1, found: 0) }
        for table in tables where table.columnLabels.count != first.columnLabels.count {
            throw .labelCountMismatch(expected: first.columnLabels.count, found: table.columnLabels.count)
        }
        self.tables = tables
        sums = try CountList(
            labels: first.columnLabels,
            counts: (0..<first.columnCount).map { column in tables.reduce(0) { $0 + $1.columnTotals[column] } }
        )
    }

    var layouts: [TableLayout] { tables.map { TableLayout(rowCount: $0.rowCount, columnCount: $0.columnCount) } }

    var columnCount: Int { sums.counts.count }

    /// Every figure in the joint numbering.
    var values: [Int] {
        tables.flatMap { table in table.positions.map { table[$0] } } + sums.counts + [sums.total]
    }

    /// Where each table's figures start in the joint numbering, for tables of these shapes; then
    /// where the list's entries start (its total follows them).
    static func offsets(layouts: [TableLayout]) -> [Int] {
        var offsets: [Int] = []
        var next = 0
        for layout in layouts {
            offsets.append(next)
            next += layout.valueCount
        }
        offsets.append(next)
        return offsets
    }

    /// The joint network of tables of these shapes and their list (it depends on nothing else):
    /// each table's own network (`TableLayout.structure`, its figures in the same order), except
    /// that its column totals flow into the list's column nodes and its grand total comes from Z2.
    static func structure(layouts: [TableLayout], columnCount: Int) -> AdditiveStructure {
        // Nodes: Z1, Z2, one per column (M), then per table its own nodes but its sink.
        let z1 = 0, z2 = 1
        func monthNode(_ column: Int) -> Int { 2 + column }
        var tails: [Int] = []
        var heads: [Int] = []
        var nextNode = 2 + columnCount
        for layout in layouts {
            let table = layout.structure
            let sink = table.nodeCount - 1
            for index in 0..<table.valueCount {
                let tail = table.tails[index], head = table.heads[index]
                tails.append(tail == sink ? z2 : nextNode + tail)
                if head == sink, case .columnTotal(let column) = layout.position(at: index) {
                    heads.append(monthNode(column))
                } else {
                    heads.append(nextNode + head)
                }
            }
            nextNode += table.nodeCount - 1
        }
        for column in 0..<columnCount {
            tails.append(monthNode(column))
            heads.append(z1)
        }
        tails.append(z1)
        heads.append(z2)
        return AdditiveStructure(nodeCount: nextNode, tails: tails, heads: heads)
    }
}

/// Linked tables as they may be shown.
public struct PublishedLinkedTables: Sendable, Hashable {
    /// The tables, in period order.
    public let tables: [PublishedTable]
    /// The sums over the periods, with their total.
    public let sums: PublishedList

    /// Creates published linked tables (e.g. read back from storage).
    public init(tables: [PublishedTable], sums: PublishedList) {
        self.tables = tables
        self.sums = sums
    }

    var knownValues: [Int?] {
        tables.flatMap(\.knownValues) + (sums.entries + [sums.total]).map(\.publishedValue)
    }
}

/// Figures that must be withheld for their own sake although their count is not below the
/// threshold: typically a total that counts steps, whose steps come from fewer than k households.
public struct AdditionalSensitivity: Sendable, Hashable {
    /// Per table, the positions that are sensitive.
    public var tables: [Set<TablePosition>]
    /// The entries of the sums that are sensitive (by index; the entry count stands for the total).
    public var sums: Set<Int>

    /// The given sensitive figures.
    public init(tables: [Set<TablePosition>], sums: Set<Int>) {
        self.tables = tables
        self.sums = sums
    }
}

/// Decides which figures of linked tables to publish, jointly: primary suppression (small counts,
/// and the additional sensitive figures), then secondary suppression until the exact audit of the
/// whole structure proves every withheld figure protected. Deterministic, like `suppress(_:policy:)`.
public func suppress(
    _ linked: LinkedTables,
    policy: DisclosurePolicy = DisclosurePolicy(),
    additionallySensitive: AdditionalSensitivity? = nil
) -> PublishedLinkedTables {
    let layouts = linked.layouts
    let offsets = LinkedTables.offsets(layouts: layouts)
    let values = linked.values
    var extra: [Bool]?
    if let additionallySensitive {
        var flags = [Bool](repeating: false, count: values.count)
        precondition(additionallySensitive.tables.count <= linked.tables.count, "sensitive figures of a table that is not there")
        for (index, positions) in additionallySensitive.tables.enumerated() {
            for position in positions { flags[offsets[index] + layouts[index].index(of: position)] = true }
        }
        for entry in additionallySensitive.sums {
            precondition((0...linked.columnCount).contains(entry), "a sensitive sum that is not there")
            flags[offsets.last! + entry] = true
        }
        extra = flags
    }
    let structure = LinkedTables.structure(layouts: layouts, columnCount: linked.columnCount)
    let entries = SuppressionPlanner.plan(structure: structure, values: values, policy: policy, alsoSensitive: extra)
    let tables = linked.tables.enumerated().map { index, table in
        PublishedTable(table: table, entries: Array(entries[offsets[index]..<offsets[index + 1]]))
    }
    let sums = PublishedList(labels: linked.sums.labels, checkedEntries: Array(entries[offsets.last!...]))
    return PublishedLinkedTables(tables: tables, sums: sums)
}

/// What a reader can deduce from published linked tables: the exact interval of every figure,
/// using every table and the sums together. Throws `DisclosureError.noConsistentTable` when the
/// published figures contradict each other.
public func audit(
    _ published: PublishedLinkedTables,
    assuming knowledge: AttackerKnowledge
) throws(DisclosureError) -> (tables: [TableAudit], sums: ListAudit) {
    let columnCount = published.sums.entries.count
    for table in published.tables where table.columnCount != columnCount {
        throw .labelCountMismatch(expected: columnCount, found: table.columnCount)
    }
    let layouts = published.tables.map(\.layout)
    guard !layouts.isEmpty else { throw .labelCountMismatch(expected: 1, found: 0) }
    guard let intervals = LinkedTables.structure(layouts: layouts, columnCount: columnCount).exactIntervals(
        known: published.knownValues, lowerBound: knowledge.lowestSuppressedValue
    ) else { throw .noConsistentTable }
    let offsets = LinkedTables.offsets(layouts: layouts)
    let tables = published.tables.enumerated().map { index, table in
        TableAudit(layout: table.layout, intervals: Array(intervals[offsets[index]..<offsets[index + 1]]),
                   suppressedPositions: table.suppressedPositions)
    }
    return (tables, ListAudit(intervals: Array(intervals[offsets.last!...])))
}
