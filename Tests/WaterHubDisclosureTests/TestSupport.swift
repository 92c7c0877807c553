import WaterHubDisclosure

/// Builds a table with generic labels.
func makeTable(_ cells: [[Int]]) throws -> CountTable {
    try CountTable(
        rowLabels: cells.indices.map { "town \($0)" },
        columnLabels: (0..<(cells.first?.count ?? 0)).map { "event \($0)" },
        cells: cells
    )
}

/// Publishes every figure except the given positions, which are marked withheld (primary when
/// sensitive under the default policy, secondary otherwise).
func publishing(_ table: CountTable, withholding withheld: Set<TablePosition>) throws -> PublishedTable {
    let policy = DisclosurePolicy()
    func entry(_ position: TablePosition) -> Disclosed<Int> {
        guard withheld.contains(position) else { return .published(table[position]) }
        return .suppressed(policy.isSensitive(table[position]) ? .primary : .secondary)
    }
    return try PublishedTable(
        rowLabels: table.rowLabels,
        columnLabels: table.columnLabels,
        cells: (0..<table.rowCount).map { row in
            (0..<table.columnCount).map { entry(.cell(row: row, column: $0)) }
        },
        rowTotals: (0..<table.rowCount).map { entry(.rowTotal(row: $0)) },
        columnTotals: (0..<table.columnCount).map { entry(.columnTotal(column: $0)) },
        grandTotal: entry(.grandTotal)
    )
}

/// The naive method: withhold the small figures and nothing else.
func thresholdOnly(_ table: CountTable, policy: DisclosurePolicy = DisclosurePolicy()) throws -> PublishedTable {
    try publishing(table, withholding: Set(table.positions.filter { policy.isSensitive(table[$0]) }))
}

/// Checks the published figures against the truth and the audit against the protection range,
/// under the policy's reader model and every weaker one; returns the problems (none when all is well).
func problems(in published: PublishedTable, of table: CountTable, policy: DisclosurePolicy) -> [String] {
    var problems: [String] = []
    for position in table.positions {
        let entry = published[position]
        let value = table[position]
        if let shown = entry.publishedValue, shown != value {
            problems.append("\(position) shows \(shown) instead of \(value)")
        }
        if policy.isSensitive(value), entry.suppressionReason != .primary {
            problems.append("\(position) = \(value) is not a primary suppression")
        }
        if !policy.isSensitive(value), entry.suppressionReason == .primary {
            problems.append("\(position) = \(value) is marked primary")
        }
        if value == 0, entry.isSuppressed {
            problems.append("\(position) is a withheld zero")
        }
    }
    let models: [AttackerKnowledge] = policy.attackerKnowledge == .nonNegativeCounts
        ? [.nonNegativeCounts] : [.nonNegativeCounts, .suppressedValuesAreNonZero]
    for knowledge in models {
        guard let report = try? audit(published, assuming: knowledge) else {
            problems.append("the audit found no consistent table assuming \(knowledge)")
            continue
        }
        for position in report.positionsNarrower(than: policy.protectionRange) {
            problems.append("\(position) = \(table[position]) narrowed to \(report[position]) assuming \(knowledge)")
        }
        for position in table.positions where !report[position].contains(table[position]) {
            problems.append("\(position) = \(table[position]) lies outside its interval \(report[position])")
        }
    }
    return problems
}
