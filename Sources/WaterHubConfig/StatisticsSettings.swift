/// `statistics.*`: the disclosure control of the regional cell's statistics.
public struct StatisticsSettings: Sendable, Hashable {
    /// `statistics.threshold` (k): a count from 1 to k − 1 is withheld, and so is any figure (a
    /// total, a median, a share) computed from fewer than k households. Default 5.
    public var threshold = 5
    /// `statistics.protection_range` (p): no withheld count can be narrowed down, by adding and
    /// subtracting published figures, to a range narrower than this. Default: the threshold.
    public var protectionRange: Int?

    public init(threshold: Int = 5, protectionRange: Int? = nil) {
        self.threshold = threshold
        self.protectionRange = protectionRange
    }

    /// The protection range in force.
    public var effectiveProtectionRange: Int { protectionRange ?? threshold }
}
