import Testing
import WaterHubTestSupport
@testable import WaterHubDisclosure

/// The planner keeps one movement network per plan and withholds and publishes figures in it as
/// it goes. Its answers must be those of a network built afresh for the same withheld figures:
/// the audit at the end would repair a wrong answer by withholding more, and no other test would
/// notice that.
@Suite struct MovementNetworkTests {
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func anIncrementalNetworkAnswersAsAFreshOne(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let table = try makeTable((0..<4).map { _ in (0..<3).map { _ in Int.random(in: 0...12, using: &random) } })
        let structure = TableLayout(rowCount: table.rowCount, columnCount: table.columnCount).structure
        let point = table.positions.map { table[$0] }
        var withheld = [Bool](repeating: false, count: point.count)
        var incremental = structure.movementNetwork(point: point, suppressed: withheld, lowerBound: 1)
        for _ in 0..<60 {
            let figure = Int.random(in: 0..<point.count, using: &random)
            withheld[figure].toggle()
            if withheld[figure] { incremental.withhold(figure) } else { incremental.publish(figure) }
            var fresh = structure.movementNetwork(point: point, suppressed: withheld, lowerBound: 1)
            for value in 0..<point.count where withheld[value] {
                for limit in [3, FlowNetwork.unlimited] {
                    #expect(incremental.rise(of: value, limit: limit) == fresh.rise(of: value, limit: limit), "rise of \(value)")
                    #expect(incremental.fall(of: value, limit: limit) == fresh.fall(of: value, limit: limit), "fall of \(value)")
                }
            }
        }
    }
}
