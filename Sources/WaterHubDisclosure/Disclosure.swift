// Statistical disclosure control for the regional cell's statistics.
//
// HOW WATERHUB PROTECTS HOUSEHOLDS IN PUBLISHED TABLES
//
// The cell sees counts of households that cannot pay their water bill, per town and per event
// type, with a total per town (row total), a total per event type for the region (column total)
// and a grand total. A small count can point to one household: "2 disconnections in a small
// town" is close to a name. So before a table is shown, some of its figures are withheld
// ("suppressed") and shown with a mark instead of a number.
//
// Primary suppression. Every figure with 1 ≤ count < k (the threshold, 5 by default) is
// withheld. This applies to the totals as well: a town whose row total is 3 has its total
// withheld too. A zero is not sensitive: it says that no household is concerned, and it is
// always published as 0.
//
// Secondary suppression. Withholding the small figures is not enough, because the totals are
// published too. If a town's total is 53 and its other event types show 20 and 30, anyone can
// work out that the withheld figure is 3. More generally, a reader can add and subtract the
// published figures along rows and columns and narrow a withheld figure down to a short range.
// So further figures are withheld as well, until every withheld figure is protected: the reader
// cannot narrow it down to a range narrower than the protection range p (k by default). For
// example, with p = 5, a reader may learn that a figure lies between 1 and 6, but never that it
// lies between 2 and 4. The extra figures are chosen to lose as little as possible: for each
// withheld figure in turn (smallest first), WaterHub looks for the published figures with the
// smallest sum for the room they give it once withheld (typically the other corners of a
// rectangle of cells: one more in its row, two in another row). Extra figures that later choices made unnecessary are
// published again. Zeros are never withheld.
//
// Why the totals matter. The totals are what makes the arithmetic possible: every row adds up
// to its town total, every column adds up to its regional total, and the totals add up to the
// grand total. A table without totals leaks much less; a table with totals must be checked as
// a whole, never cell by cell. Totals can themselves be withheld, small totals as primary
// suppressions and, when cheaper than anything else, large ones as secondary suppressions.
//
// How the protection is proved. For every withheld figure WaterHub computes the exact range of
// values it could take, given everything that is published and the rule that counts are never
// negative. Because zeros are always published and this method is public, a reader also knows
// that every withheld figure is at least 1; by default WaterHub assumes the reader knows that.
// Finding that range is a small linear programme with a special shape (a "network flow"): the
// table's additive rules say that what flows into a town equals what flows out of it. For such
// problems the exact lowest and highest values can be computed with a maximum-flow algorithm,
// in whole numbers, without rounding and without guessing. The suppression step ends by running
// this audit on the table it is about to publish, with only the published figures as input, and
// adds suppressions until every withheld figure passes. If something could still not be
// protected, every non-zero figure is withheld, which is always safe.
//
// The same rules apply to a single list with a total (one row with its total), and to a statistic
// computed from a group of households (a median, a share), which is published only when the
// group has at least k households.
//
// Whether a figure was withheld as a primary or as a secondary suppression is recorded for the
// audit trail, but must not be shown to readers: the pages show one mark for both. Knowing which
// figures are the small ones would tell a reader that they lie between 1 and k - 1.
//
// The method is deterministic: the same table and policy always give the same published table.
// Withheld figures are handled smallest first, equal figures by position (cells row by row, then
// the row totals, the column totals and the grand total), and ties between equally cheap choices
// are broken in a fixed order; nothing depends on chance or on the order of a hash table.

/// What a reader of a published table is assumed to know besides the published figures.
public enum AttackerKnowledge: Sendable, Hashable {
    /// Only that counts are never negative.
    case nonNegativeCounts
    /// Also that zeros are always published, so every withheld figure is at least 1.
    case suppressedValuesAreNonZero

    /// The smallest value a withheld figure can have under this knowledge.
    public var lowestSuppressedValue: Int {
        switch self {
        case .nonNegativeCounts: 0
        case .suppressedValuesAreNonZero: 1
        }
    }
}

/// The rules that decide which figures are too revealing to publish.
public struct DisclosurePolicy: Sendable, Hashable {
    /// The threshold k: a count c with 0 < c < k is withheld.
    public let threshold: Int
    /// The protection range p: every withheld figure's feasible range must be at least this wide.
    public let protectionRange: Int
    /// What a reader is assumed to know when the feasible ranges are computed.
    public let attackerKnowledge: AttackerKnowledge

    /// Creates a policy; the protection range defaults to the threshold (both must be ≥ 0).
    public init(
        threshold: Int = 5,
        protectionRange: Int? = nil,
        attackerKnowledge: AttackerKnowledge = .suppressedValuesAreNonZero
    ) {
        precondition(threshold >= 0, "The disclosure threshold cannot be negative.")
        precondition((protectionRange ?? 0) >= 0, "The protection range cannot be negative.")
        self.threshold = threshold
        self.protectionRange = protectionRange ?? threshold
        self.attackerKnowledge = attackerKnowledge
    }

    /// Whether a count is small enough to be withheld for its own sake (0 < count < threshold).
    public func isSensitive(_ count: Int) -> Bool {
        count > 0 && count < threshold
    }
}

/// Why a figure was withheld.
public enum SuppressionReason: Sendable, Hashable {
    /// The figure itself is below the threshold.
    case primary
    /// The figure is withheld so that another withheld figure cannot be worked out.
    case secondary
}

/// A figure as it may be shown: either its value or a mark saying it is withheld.
public enum Disclosed<Value: Sendable>: Sendable {
    /// The figure is shown.
    case published(Value)
    /// The figure is withheld, for the given reason.
    case suppressed(SuppressionReason)

    /// The value when it is published, nil when it is withheld.
    public var publishedValue: Value? {
        if case .published(let value) = self { value } else { nil }
    }

    /// Whether the figure is withheld.
    public var isSuppressed: Bool {
        publishedValue == nil
    }

    /// Why the figure is withheld, or nil when it is published.
    public var suppressionReason: SuppressionReason? {
        if case .suppressed(let reason) = self { reason } else { nil }
    }
}

extension Disclosed: Equatable where Value: Equatable {}
extension Disclosed: Hashable where Value: Hashable {}

extension Disclosed where Value: CustomStringConvertible {
    /// The text to show: the value, or the same mark for every withheld figure whatever the reason.
    public func displayText(suppressedMarker: String = "x") -> String {
        publishedValue?.description ?? suppressedMarker
    }
}

/// Publishes a statistic (a median, a share, …) only when it is computed from at least k
/// households (and from at least one); otherwise it is a primary suppression.
public func discloseStatistic<Value: Sendable>(
    _ value: Value,
    householdCount: Int,
    policy: DisclosurePolicy = DisclosurePolicy()
) -> Disclosed<Value> {
    householdCount >= policy.threshold && householdCount > 0 ? .published(value) : .suppressed(.primary)
}

/// A problem with the figures handed to this module.
public enum DisclosureError: Error, Sendable, Hashable {
    /// The number of labels does not match the number of rows, columns or list entries.
    case labelCountMismatch(expected: Int, found: Int)
    /// A row of the table has the wrong number of cells.
    case raggedRow(row: Int, expected: Int, found: Int)
    /// A count is negative. A total is reported at row = row count or column = column count; for
    /// lists, the row is 0 and the column is the entry's index (the total's is the entry count).
    case negativeCount(row: Int, column: Int)
    /// The counts add up to more than this module computes with (`CountTable.largestGrandTotal`).
    case countTooLarge
    /// The published figures contradict each other: no table of counts is consistent with them.
    case noConsistentTable
}
