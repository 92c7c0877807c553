/// The additive rules of a table as a directed graph: every figure is an edge, and at every node
/// the figures flowing in add up to the figures flowing out.
///
/// With the published figures held fixed and the withheld ones free (but never below a lower
/// bound), the tables a reader cannot tell apart are exactly the flows in this graph. How far a
/// withheld figure can rise is the maximum flow that can be sent back around it, from its head to
/// its tail, through the other withheld figures (each can rise without limit, or fall down to its
/// lower bound). How far it can fall is the maximum flow from its tail to its head. Maximum flows
/// with whole-number capacities are whole numbers and exact, so the ranges are exact.
struct AdditiveStructure: Sendable, Hashable {
    let nodeCount: Int
    /// The node each figure flows out of.
    let tails: [Int]
    /// The node each figure flows into.
    let heads: [Int]

    var valueCount: Int { tails.count }

    /// One list with its total: the entries run from node 0 to node 1, the total back from 1 to 0.
    static func list(count: Int) -> AdditiveStructure {
        AdditiveStructure(
            nodeCount: 2,
            tails: Array(repeating: 0, count: count) + [1],
            heads: Array(repeating: 1, count: count) + [0]
        )
    }

    /// The network of the ways the withheld figures can move away from `point` (a table
    /// consistent with everything published): each can rise without limit (tail → head) or fall
    /// down to `lowerBound` (head → tail).
    func movementNetwork(point: [Int], suppressed: [Bool], lowerBound: Int) -> MovementNetwork {
        var network = MovementNetwork(structure: self, point: point, lowerBound: lowerBound)
        for value in 0..<valueCount where suppressed[value] { network.withhold(value) }
        return network
    }

    /// A table consistent with the known figures in which every unknown one is at least
    /// `lowerBound`, or nil when there is none.
    func consistentPoint(known: [Int?], lowerBound: Int) -> [Int]? {
        // Fix every unknown figure at its lower bound and measure, per node, how much more flows
        // in than out. The unknown figures' excesses over their lower bounds must carry exactly that
        // surplus away: a flow from the nodes with a surplus to the nodes with a deficit.
        var surplus = [Int](repeating: 0, count: nodeCount)
        for value in 0..<valueCount {
            let amount = known[value] ?? lowerBound
            surplus[heads[value]] += amount
            surplus[tails[value]] -= amount
        }
        let source = nodeCount
        let sink = nodeCount + 1
        var network = FlowNetwork(nodeCount: nodeCount + 2)
        var arcOfValue = [Int](repeating: -1, count: valueCount)
        for value in 0..<valueCount where known[value] == nil {
            arcOfValue[value] = network.addArc(from: tails[value], to: heads[value], capacity: FlowNetwork.unlimited)
        }
        var required = 0
        for node in 0..<nodeCount {
            if surplus[node] > 0 {
                network.addArc(from: source, to: node, capacity: surplus[node])
                required += surplus[node]
            } else if surplus[node] < 0 {
                network.addArc(from: node, to: sink, capacity: -surplus[node])
            }
        }
        guard network.maximumFlow(from: source, to: sink, limit: required) == required else { return nil }
        return (0..<valueCount).map { value in
            known[value] ?? lowerBound + network.flow(on: arcOfValue[value])
        }
    }

    /// The exact feasible range of every figure, given the known ones (nil = withheld), or nil
    /// when the known figures contradict each other.
    func exactIntervals(known: [Int?], lowerBound: Int) -> [FeasibleInterval]? {
        guard let point = consistentPoint(known: known, lowerBound: lowerBound) else { return nil }
        var network = movementNetwork(point: point, suppressed: known.map { $0 == nil }, lowerBound: lowerBound)
        return (0..<valueCount).map { value in
            guard known[value] == nil else { return FeasibleInterval(lower: point[value], upper: point[value]) }
            let rise = network.rise(of: value, limit: FlowNetwork.unlimited)
            let fall = network.fall(of: value, limit: FlowNetwork.unlimited)
            return FeasibleInterval(lower: point[value] - fall, upper: rise >= FlowNetwork.unlimited ? nil : point[value] + rise)
        }
    }
}

/// The movement network of a structure for a set of withheld figures that grows and shrinks, built
/// once and asked many questions: every figure ever withheld keeps its arcs (a published one with
/// no capacity), and each question starts again from the capacities of the current set with the
/// figure asked about taken out. Answers are exact maximum flows, the same as in a network built
/// afresh for each question.
struct MovementNetwork {
    let structure: AdditiveStructure
    let point: [Int]
    let lowerBound: Int
    /// The network as the last question left it: its residual capacities carry that flow.
    private(set) var flows: FlowNetwork
    /// The residual capacities with no flow, for the current withheld figures.
    private var capacities: [Int] = []
    /// Each figure's first arc (its rise; its fall, if it can fall, is the arc pair after it), or -1.
    private var firstArcOfValue: [Int]
    /// The figure the last question took out, if it has arcs.
    private var excluded: Int?

    init(structure: AdditiveStructure, point: [Int], lowerBound: Int) {
        self.structure = structure
        self.point = point
        self.lowerBound = lowerBound
        flows = FlowNetwork(nodeCount: structure.nodeCount)
        firstArcOfValue = Array(repeating: -1, count: structure.valueCount)
    }

    private func room(_ value: Int) -> Int { point[value] - lowerBound }

    /// Lets a figure move: it is withheld from now on.
    mutating func withhold(_ value: Int) {
        let room = room(value)
        if firstArcOfValue[value] < 0 {
            firstArcOfValue[value] = flows.addArc(from: structure.tails[value], to: structure.heads[value], capacity: 0, label: value)
            if room > 0 { flows.addArc(from: structure.heads[value], to: structure.tails[value], capacity: 0, label: value) }
            capacities += Array(repeating: 0, count: flows.arcCount - capacities.count)
        }
        setCapacity(of: value, open: true)
    }

    /// Fixes a figure again: it is published from now on.
    mutating func publish(_ value: Int) {
        guard firstArcOfValue[value] >= 0 else { return }
        setCapacity(of: value, open: false)
    }

    private mutating func setCapacity(of value: Int, open: Bool) {
        let arc = firstArcOfValue[value]
        capacities[arc] = open ? FlowNetwork.unlimited : 0
        flows.setResidual(of: arc, to: capacities[arc])
        if room(value) > 0 {
            capacities[arc + 2] = open ? room(value) : 0
            flows.setResidual(of: arc + 2, to: capacities[arc + 2])
        }
    }

    /// Takes the last question's flow out again: only the arcs it changed, not the whole network.
    private mutating func clearFlow() {
        for arc in flows.touchedArcs {
            flows.setResidual(of: arc, to: capacities[arc])
            flows.setResidual(of: arc ^ 1, to: capacities[arc ^ 1])
        }
        flows.forgetTouchedArcs()
        if let excluded = excluded, firstArcOfValue[excluded] >= 0 {
            let arc = firstArcOfValue[excluded]
            flows.setResidual(of: arc, to: capacities[arc])
            if room(excluded) > 0 { flows.setResidual(of: arc + 2, to: capacities[arc + 2]) }
        }
        excluded = nil
    }

    /// The largest flow (up to `limit`) from `source` to `sink` through the withheld figures other
    /// than `excluded`; `flows` then holds it.
    private mutating func maximumFlow(excluding value: Int, from source: Int, to sink: Int, limit: Int) -> Int {
        clearFlow()
        let arc = firstArcOfValue[value]
        if arc >= 0 {
            excluded = value
            flows.setResidual(of: arc, to: 0)
            if room(value) > 0 { flows.setResidual(of: arc + 2, to: 0) }
        }
        return flows.maximumFlow(from: source, to: sink, limit: limit)
    }

    /// The figures whose arcs carry the last question's flow (with repeats, in no set order).
    var labelsCarryingFlow: [Int] {
        flows.touchedArcs.compactMap { arc in
            let forward = arc & ~1
            return flows.flow(on: forward) > 0 && flows.label[forward] >= 0 ? flows.label[forward] : nil
        }
    }

    /// How far `value` can rise, up to `limit`: the flow that can go back around it, head to tail.
    mutating func rise(of value: Int, limit: Int) -> Int {
        maximumFlow(excluding: value, from: structure.heads[value], to: structure.tails[value], limit: limit)
    }

    /// How far `value` can fall, up to `limit` (never below the lower bound): tail to head.
    mutating func fall(of value: Int, limit: Int) -> Int {
        let room = min(room(value), limit)
        guard room > 0 else { return 0 }
        return maximumFlow(excluding: value, from: structure.tails[value], to: structure.heads[value], limit: room)
    }
}

/// A small directed network with whole-number capacities (forward-star arrays), for exact
/// maximum flows (Dinic's algorithm) and cheapest paths (Dijkstra's algorithm).
struct FlowNetwork {
    /// A capacity that stands for "no limit"; flows are always capped below it.
    static let unlimited = 1 << 60

    private(set) var firstArc: [Int]
    private(set) var nextArc: [Int] = []
    private(set) var target: [Int] = []
    private(set) var residual: [Int] = []
    private(set) var cost: [Int] = []
    /// What each arc stands for (a figure's index), or -1.
    private(set) var label: [Int] = []

    // Work space of `maximumFlow`, kept between calls so that a flow that stays near its end points
    // costs what it touches, not the size of the network. A node's level in the current search is
    // `mark - search << levelBits`; marks of earlier searches are smaller than any current one.
    private var mark: [Int]
    private var currentArc: [Int]
    private var queue: [Int]
    private var search = 0
    private static let levelBits = 24
    /// The arcs whose residual capacity a flow changed since `forgetTouchedArcs` (with repeats).
    private(set) var touchedArcs: [Int] = []

    init(nodeCount: Int) {
        firstArc = Array(repeating: -1, count: nodeCount)
        mark = Array(repeating: -1, count: nodeCount)
        currentArc = Array(repeating: -1, count: nodeCount)
        queue = Array(repeating: 0, count: nodeCount)
    }

    var nodeCount: Int { firstArc.count }
    var arcCount: Int { target.count }

    /// Adds an arc and its reverse (at index `arc ^ 1`); returns the arc's index.
    @discardableResult
    mutating func addArc(from tail: Int, to head: Int, capacity: Int, cost arcCost: Int = 0, label arcLabel: Int = -1) -> Int {
        let arc = target.count
        target.append(head)
        residual.append(capacity)
        cost.append(arcCost)
        label.append(arcLabel)
        nextArc.append(firstArc[tail])
        firstArc[tail] = arc
        target.append(tail)
        residual.append(0)
        cost.append(0)
        label.append(-1)
        nextArc.append(firstArc[head])
        firstArc[head] = arc + 1
        return arc
    }

    mutating func setResidual(of arc: Int, to capacity: Int) {
        residual[arc] = capacity
    }

    mutating func forgetTouchedArcs() {
        touchedArcs.removeAll(keepingCapacity: true)
    }

    /// The node an arc leaves from.
    func tail(of arc: Int) -> Int { target[arc ^ 1] }

    /// The flow currently sent along an arc added with `addArc`.
    func flow(on arc: Int) -> Int { residual[arc ^ 1] }

    /// Sends as much flow as possible (but no more than `limit`) from `source` to `sink`, and
    /// returns the amount. The residual capacities are left in place for further searches.
    mutating func maximumFlow(from source: Int, to sink: Int, limit: Int) -> Int {
        precondition(source != sink, "A flow needs two different end points.")
        var total = 0
        while total < limit {
            // Dinic's algorithm: levels by breadth-first search from the source, then blocking
            // flow along arcs that go one level up.
            search += 1
            let base = search << FlowNetwork.levelBits
            mark[source] = base
            currentArc[source] = firstArc[source]
            queue[0] = source
            var front = 0
            var back = 1
            while front < back {
                let node = queue[front]
                front += 1
                // Level by level: past the sink's level nothing leads to the sink any more.
                if mark[sink] >= base && mark[node] >= mark[sink] { break }
                var arc = firstArc[node]
                while arc >= 0 {
                    let next = target[arc]
                    if residual[arc] > 0 && mark[next] < base {
                        mark[next] = mark[node] + 1
                        currentArc[next] = firstArc[next]
                        queue[back] = next
                        back += 1
                    }
                    arc = nextArc[arc]
                }
            }
            if mark[sink] < base { break }
            while total < limit {
                let pushed = augment(from: source, to: sink, amount: limit - total)
                if pushed == 0 { break }
                total += pushed
            }
        }
        return total
    }

    private mutating func augment(from node: Int, to sink: Int, amount: Int) -> Int {
        if node == sink { return amount }
        while currentArc[node] >= 0 {
            let arc = currentArc[node]
            let next = target[arc]
            if residual[arc] > 0 && mark[next] == mark[node] + 1 {
                let pushed = augment(from: next, to: sink, amount: min(amount, residual[arc]))
                if pushed > 0 {
                    residual[arc] -= pushed
                    residual[arc ^ 1] += pushed
                    touchedArcs.append(arc)
                    return pushed
                }
            }
            currentArc[node] = nextArc[arc]
        }
        return 0
    }

    /// The cheapest path from `source` to `sink` using only arcs with at least `minimumResidual`
    /// capacity left, as a list of arcs; nil when there is none. Ties go to lower node numbers.
    func cheapestPath(from source: Int, to sink: Int, minimumResidual: Int) -> [Int]? {
        var distance = [Int](repeating: Int.max, count: nodeCount)
        var arcInto = [Int](repeating: -1, count: nodeCount)
        var settled = [Bool](repeating: false, count: nodeCount)
        // Unsettled nodes by (distance, node), so the next one settled is the nearest and, among
        // equally near ones, the lowest-numbered; entries made stale by a shorter distance are skipped.
        var frontier = MinimumHeap()
        distance[source] = 0
        frontier.insert((0, source))
        while true {
            guard let (nearest, node) = frontier.popMinimum() else { return nil }
            if settled[node] || nearest != distance[node] { continue }
            if node == sink { break }
            settled[node] = true
            var arc = firstArc[node]
            while arc >= 0 {
                let next = target[arc]
                if residual[arc] >= minimumResidual && !settled[next] {
                    let through = distance[node] + cost[arc]
                    if through < distance[next] {
                        distance[next] = through
                        arcInto[next] = arc
                        frontier.insert((through, next))
                    }
                }
                arc = nextArc[arc]
            }
        }
        var path: [Int] = []
        var node = sink
        while node != source {
            let arc = arcInto[node]
            path.append(arc)
            node = tail(of: arc)
        }
        return path.reversed()
    }
}

/// A binary heap of (distance, node) pairs, smallest first.
struct MinimumHeap {
    private var entries: [(Int, Int)] = []

    mutating func insert(_ entry: (Int, Int)) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child] < entries[parent] else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMinimum() -> (Int, Int)? {
        guard let last = entries.popLast() else { return nil }
        guard !entries.isEmpty else { return last }
        let minimum = entries[0]
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { break }
            let right = left + 1
            let smaller = right < entries.count && entries[right] < entries[left] ? right : left
            guard entries[smaller] < entries[parent] else { break }
            entries.swapAt(parent, smaller)
            parent = smaller
        }
        return minimum
    }
}
