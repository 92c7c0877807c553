/// Decides which figures of a table to publish: primary suppression, then secondary suppression
/// until the exact audit proves every withheld figure protected. The same table and policy always
/// give the same result.
public func suppress(_ table: CountTable, policy: DisclosurePolicy = DisclosurePolicy()) -> PublishedTable {
    let layout = TableLayout(rowCount: table.rowCount, columnCount: table.columnCount)
    let values = layout.positions.map { table[$0] }
    let entries = SuppressionPlanner.plan(structure: layout.structure, values: values, policy: policy)
    return PublishedTable(table: table, entries: entries)
}

/// Chooses the figures to withhold in any additive structure (a table with margins, a list with
/// its total), working on the true values, which it knows.
///
/// Secondary suppression, one withheld figure at a time (smallest first): if the figure cannot
/// move by the protection range, the shortfall is the flow still missing around it. The planner
/// looks for a path that would carry more flow around it through published figures, choosing the
/// path that withholds the least (the sum of the figures it would withhold) per unit of range
/// gained, and withholds the figures on it. Withholding more figures only ever widens ranges, so
/// a figure once protected stays protected. Then secondary suppressions made unnecessary by later
/// ones are published again, largest first, each only if every withheld figure stays protected.
/// At the end the exact audit, which sees only what is published, checks the result; anything it
/// finds is repaired the same way (a few rounds at most), and as a last resort every non-zero
/// figure is withheld, which is always safe: every withheld figure then lies on a cycle of
/// withheld figures (cell, its row total, the grand total, its column total) and can rise without
/// limit.
struct SuppressionPlanner {
    let structure: AdditiveStructure
    let values: [Int]
    let policy: DisclosurePolicy
    private(set) var suppressed: [Bool]
    let primary: [Bool]
    /// The movement network of the currently withheld figures, kept in step with `suppressed`.
    private var movement: MovementNetwork
    /// Per withheld figure, the figures whose flows proved it protected when it was last checked
    /// (withholding more never breaks such a proof), or nil.
    private var witnesses: [[Int]?]

    /// - Parameter alsoSensitive: figures to withhold for their own sake although their count is not
    ///   small (a count that comes from fewer than k households); nil for none.
    static func plan(structure: AdditiveStructure, values: [Int], policy: DisclosurePolicy, alsoSensitive: [Bool]? = nil) -> [Disclosed<Int>] {
        var planner = SuppressionPlanner(structure: structure, values: values, policy: policy, alsoSensitive: alsoSensitive)
        planner.protect(planner.suppressedValues)
        planner.publishRedundantSecondaries()
        planner.verifyAndRepair()
        return (0..<values.count).map { value in
            guard planner.suppressed[value] else { return .published(values[value]) }
            return .suppressed(planner.primary[value] ? .primary : .secondary)
        }
    }

    init(structure: AdditiveStructure, values: [Int], policy: DisclosurePolicy, alsoSensitive: [Bool]? = nil) {
        precondition(structure.valueCount == values.count)
        precondition(alsoSensitive.map { $0.count == values.count } ?? true)
        self.structure = structure
        self.values = values
        self.policy = policy
        primary = values.indices.map { policy.isSensitive(values[$0]) || (values[$0] > 0 && alsoSensitive?[$0] == true) }
        suppressed = primary
        witnesses = Array(repeating: nil, count: values.count)
        movement = structure.movementNetwork(point: values, suppressed: primary, lowerBound: policy.attackerKnowledge.lowestSuppressedValue)
    }

    private mutating func setSuppressed(_ figure: Int, _ withheld: Bool) {
        suppressed[figure] = withheld
        if withheld { movement.withhold(figure) } else { movement.publish(figure) }
    }

    private var lowerBound: Int { policy.attackerKnowledge.lowestSuppressedValue }
    private var range: Int { policy.protectionRange }

    private var suppressedValues: [Int] { (0..<values.count).filter { suppressed[$0] } }

    /// Sorts figures by value, then by position.
    private func smallestFirst(_ indices: [Int]) -> [Int] {
        indices.sorted { (values[$0], $0) < (values[$1], $1) }
    }

    /// Protects every figure in the list, and every figure withheld along the way.
    private mutating func protect(_ worklist: [Int]) {
        var queue = smallestFirst(worklist)
        var next = 0
        while next < queue.count {
            let added = protect(queue[next])
            next += 1
            queue.append(contentsOf: smallestFirst(added))
        }
    }

    /// Withholds further figures until `value` can move by the protection range; returns them.
    private mutating func protect(_ value: Int) -> [Int] {
        var added: [Int] = []
        for _ in 0..<values.count {
            let (shortfall, carriers) = shortfall(of: value)
            if shortfall <= 0 {
                witnesses[value] = carriers
                break
            }
            // With a maximum flow of its rise, every further path around `value` needs at least one
            // published figure. The rise again gives the same flow (it starts from a cleared network).
            _ = movement.rise(of: value, limit: range)
            guard let path = cheapestWidening(of: value, in: movement.flows, shortfall: shortfall) else { break }
            for figure in path {
                setSuppressed(figure, true)
                added.append(figure)
            }
        }
        return added
    }

    /// The published figures to withhold so that more flow can go around `value`: the cheapest
    /// path from its head to its tail in the residual network, where a withheld figure costs
    /// nothing and a published figure costs its value. Paths that carry less than the shortfall are
    /// compared by cost per unit carried.
    private func cheapestWidening(of value: Int, in residualNetwork: FlowNetwork, shortfall: Int) -> [Int]? {
        var network = residualNetwork
        var figureOfArc = [Int](repeating: -1, count: network.arcCount)
        for figure in 0..<values.count where !suppressed[figure] && values[figure] > 0 && figure != value {
            network.addArc(
                from: structure.tails[figure], to: structure.heads[figure],
                capacity: FlowNetwork.unlimited, cost: values[figure]
            )
            figureOfArc += [figure, -1]
            let room = values[figure] - lowerBound
            if room > 0 {
                network.addArc(from: structure.heads[figure], to: structure.tails[figure], capacity: room, cost: values[figure])
                figureOfArc += [figure, -1]
            }
        }
        // The distinct amounts min(residual, shortfall) of the arcs, smallest first: all lie in 1...shortfall.
        var present = [Bool](repeating: false, count: shortfall + 1)
        for arc in 0..<network.arcCount where network.residual[arc] > 0 {
            present[min(network.residual[arc], shortfall)] = true
        }
        let levels = (1...shortfall).filter { present[$0] }

        var best: (figures: [Int], cost: Int, gain: Int)?
        for level in levels {
            guard let path = network.cheapestPath(
                from: structure.heads[value], to: structure.tails[value], minimumResidual: level
            ) else { continue }
            let gain = path.reduce(shortfall) { min($0, network.residual[$1]) }
            let figures = path.map { figureOfArc[$0] }.filter { $0 >= 0 }
            let cost = figures.reduce(0) { $0 + values[$1] }
            if let current = best {
                // cost / gain < current.cost / current.gain, then the lower cost.
                let mine = cost.multipliedFullWidth(by: current.gain)
                let theirs = current.cost.multipliedFullWidth(by: gain)
                let better = (mine.high, mine.low) < (theirs.high, theirs.low)
                    || ((mine.high, mine.low) == (theirs.high, theirs.low) && cost < current.cost)
                if !better { continue }
            }
            best = (figures, cost, gain)
        }
        guard let best, !best.figures.isEmpty else { return nil }
        return best.figures
    }

    /// How far the withheld figure `value` falls short of moving by the protection range (0 when
    /// it can), and the figures that carry the flows showing how far it can rise and fall.
    private mutating func shortfall(of value: Int) -> (shortfall: Int, carriers: [Int]) {
        let rise = movement.rise(of: value, limit: range)
        var carriers = movement.labelsCarryingFlow
        guard rise < range else { return (0, carriers) }
        let fall = movement.fall(of: value, limit: range - rise)
        carriers += movement.labelsCarryingFlow
        return (max(0, range - rise - fall), carriers)
    }

    /// A proof that the withheld figure `value` can move by the protection range: the figures
    /// that carry the flows showing how far it can rise and fall. Nil when it cannot move so far.
    private mutating func protectionWitness(_ value: Int) -> [Int]? {
        let (shortfall, carriers) = shortfall(of: value)
        return shortfall == 0 ? carriers : nil
    }

    /// Publishes again, largest first, every secondary suppression that turned out not to be needed
    /// once later ones were added. A withheld figure whose proof of protection does not use the
    /// candidate stays protected without it, so only the others are checked again.
    private mutating func publishRedundantSecondaries() {
        for value in suppressedValues where witnesses[value] == nil {
            guard let witness = protectionWitness(value) else { return }
            witnesses[value] = witness
        }
        for candidate in smallestFirst(suppressedValues.filter { !primary[$0] }).reversed() {
            setSuppressed(candidate, false)
            var renewed: [(value: Int, witness: [Int])] = []
            var stillProtected = true
            for value in suppressedValues where witnesses[value]?.contains(candidate) ?? true {
                guard let witness = protectionWitness(value) else {
                    stillProtected = false
                    break
                }
                renewed.append((value, witness))
            }
            if stillProtected {
                for (value, witness) in renewed { witnesses[value] = witness }
                witnesses[candidate] = nil
            } else {
                setSuppressed(candidate, true)
            }
        }
    }

    /// Runs the exact audit on what would be published and repairs what it finds. The planner's
    /// own checks are exact too, so the first audit is expected to pass; the rounds are bounded.
    private mutating func verifyAndRepair() {
        for _ in 0..<4 {
            let failing = unprotectedByAudit()
            if failing.isEmpty { return }
            protect(failing)
        }
        for figure in 0..<values.count where values[figure] > 0 {
            setSuppressed(figure, true)
        }
    }

    /// The withheld figures that the exact audit, seeing only the published figures, can narrow
    /// below the protection range.
    private func unprotectedByAudit() -> [Int] {
        let known = (0..<values.count).map { suppressed[$0] ? nil : values[$0] }
        guard let intervals = structure.exactIntervals(known: known, lowerBound: lowerBound) else {
            return suppressedValues
        }
        return suppressedValues.filter { !intervals[$0].hasWidth(atLeast: range) }
    }
}
