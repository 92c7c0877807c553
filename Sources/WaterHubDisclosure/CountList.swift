/// A single list of household counts with its total (e.g. one town's events by type).
public struct CountList: Sendable, Hashable {
    /// The entry labels.
    public let labels: [String]
    /// The counts, one per label.
    public let counts: [Int]
    /// The sum of the counts.
    public let total: Int

    /// Creates a list, checking that there is one count per label and that no count is negative.
    public init(labels: [String], counts: [Int]) throws(DisclosureError) {
        guard labels.count == counts.count else {
            throw .labelCountMismatch(expected: counts.count, found: labels.count)
        }
        var total = 0
        for (index, count) in counts.enumerated() {
            guard count >= 0 else { throw .negativeCount(row: 0, column: index) }
            guard count <= CountTable.largestGrandTotal else { throw .countTooLarge }
            total += count
            guard total <= CountTable.largestGrandTotal else { throw .countTooLarge }
        }
        self.labels = labels
        self.counts = counts
        self.total = total
    }
}

/// A list as it may be shown: every entry and the total is either published or withheld.
public struct PublishedList: Sendable, Hashable {
    /// The entry labels.
    public let labels: [String]
    /// The entries, one per label.
    public let entries: [Disclosed<Int>]
    /// The total.
    public let total: Disclosed<Int>

    /// Creates a published list (e.g. one read back from storage), checking its shape and that no
    /// published count is negative.
    public init(labels: [String], entries: [Disclosed<Int>], total: Disclosed<Int>) throws(DisclosureError) {
        guard labels.count == entries.count else {
            throw .labelCountMismatch(expected: entries.count, found: labels.count)
        }
        for (index, entry) in (entries + [total]).enumerated() {
            guard let value = entry.publishedValue else { continue }
            guard value >= 0 else { throw .negativeCount(row: 0, column: index) }
            guard value <= CountTable.largestGrandTotal else { throw .countTooLarge }
        }
        self.labels = labels
        self.entries = entries
        self.total = total
    }

    init(labels: [String], checkedEntries: [Disclosed<Int>]) {
        self.labels = labels
        entries = Array(checkedEntries.dropLast())
        total = checkedEntries[checkedEntries.count - 1]
    }

    /// The texts to show, entries then the total, with one marker for every withheld figure.
    public func displayRow(suppressedMarker: String = "x") -> [String] {
        (entries + [total]).map { $0.displayText(suppressedMarker: suppressedMarker) }
    }
}

/// What a reader can deduce from a published list: the feasible interval of every entry and the total.
public struct ListAudit: Sendable, Hashable {
    /// The interval of each entry (a single value for published entries).
    public let entries: [FeasibleInterval]
    /// The interval of the total.
    public let total: FeasibleInterval

    /// The audit from the intervals of the entries, then of the total.
    init(intervals: [FeasibleInterval]) {
        entries = Array(intervals.dropLast())
        total = intervals[intervals.count - 1]
    }

    /// Whether every withheld figure of `list` has an interval at least `range` wide.
    public func protects(_ list: PublishedList, range: Int) -> Bool {
        zip(list.entries + [list.total], entries + [total]).allSatisfy { entry, interval in
            !entry.isSuppressed || interval.hasWidth(atLeast: range)
        }
    }
}

/// Decides which entries of a list (and whether its total) to publish, with the same method as
/// for tables: primary suppression, then secondary suppression proved by the exact audit.
public func suppress(_ list: CountList, policy: DisclosurePolicy = DisclosurePolicy()) -> PublishedList {
    let entries = SuppressionPlanner.plan(
        structure: .list(count: list.counts.count), values: list.counts + [list.total], policy: policy
    )
    return PublishedList(labels: list.labels, checkedEntries: entries)
}

/// Computes the exact interval a reader can deduce for every entry and the total of a published list.
/// Throws `DisclosureError.noConsistentTable` when the published figures contradict each other.
public func audit(_ list: PublishedList, assuming knowledge: AttackerKnowledge) throws(DisclosureError) -> ListAudit {
    let known = (list.entries + [list.total]).map(\.publishedValue)
    guard let intervals = AdditiveStructure.list(count: list.entries.count).exactIntervals(
        known: known, lowerBound: knowledge.lowestSuppressedValue
    ) else { throw .noConsistentTable }
    return ListAudit(intervals: intervals)
}
