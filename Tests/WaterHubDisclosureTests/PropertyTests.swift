import Testing
import WaterHubDisclosure
import WaterHubTestSupport

@Suite struct GeneratedTableTests {
    /// A table of 2…8 rows × 2…9 columns mixing zeros, small counts and large counts; some rows
    /// and columns are mostly small so that totals fall below the threshold too.
    static func generatedTable(using generator: inout SeededGenerator) throws -> CountTable {
        let rows = Int.random(in: 2...8, using: &generator)
        let columns = Int.random(in: 2...9, using: &generator)
        let sparseRow = Int.random(in: 0..<rows, using: &generator)
        let cells = (0..<rows).map { row in
            (0..<columns).map { _ in
                let roll = Int.random(in: 0..<100, using: &generator)
                if row == sparseRow { return roll < 60 ? 0 : Int.random(in: 1...3, using: &generator) }
                switch roll {
                case ..<25: return 0
                case ..<60: return Int.random(in: 1...4, using: &generator)
                case ..<85: return Int.random(in: 5...20, using: &generator)
                default: return Int.random(in: 21...400, using: &generator)
                }
            }
        }
        return try makeTable(cells)
    }

    static let policies = [
        DisclosurePolicy(),
        DisclosurePolicy(threshold: 3, attackerKnowledge: .nonNegativeCounts),
        DisclosurePolicy(threshold: 5, protectionRange: 8),
    ]

    @Test func everyWithheldFigureIsProtectedInThreeHundredGeneratedTables() throws {
        var generator = SeededGenerator(seed: 20_261_122)
        var withheld = 0
        var secondary = 0
        for index in 0..<300 {
            let table = try Self.generatedTable(using: &generator)
            let policy = Self.policies[index % Self.policies.count]
            let published = suppress(table, policy: policy)
            let found = problems(in: published, of: table, policy: policy)
            #expect(found.isEmpty, "table \(index) \(table.cells): \(found)")
            #expect(suppress(table, policy: policy) == published, "table \(index) differs between runs")
            withheld += published.suppressedPositions.count
            secondary += published.suppressedPositions.filter { published[$0] == .suppressed(.secondary) }.count
        }
        // The generator really exercises secondary suppression.
        #expect(withheld > 1_000)
        #expect(secondary > 300)
    }
}
