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

    /// The network of the ways the withheld figures other than `excluded` can move away from
    /// `point` (a table consistent with everything published): each can rise without limit
    /// (tail → head) or fall down to `lowerBound` (head → tail).
    func movementNetwork(point: [Int], suppressed: [Bool], lowerBound: Int, excluding excluded: Int) -> FlowNetwork {
        var network = FlowNetwork(nodeCount: nodeCount)
        for value in 0..<valueCount where suppressed[value] && value != excluded {
            network.addArc(from: tails[value], to: heads[value], capacity: FlowNetwork.unlimited, label: value)
            let room = point[value] - lowerBound
            if room > 0 {
                network.addArc(from: heads[value], to: tails[value], capacity: room, label: value)
            }
        }
        return network
    }

    /// How far the withheld figure `value` can fall from `point`, up to `limit`.
    func fall(of value: Int, point: [Int], suppressed: [Bool], lowerBound: Int, limit: Int) -> Int {
        let room = min(point[value] - lowerBound, limit)
        guard room > 0 else { return 0 }
        var network = movementNetwork(point: point, suppressed: suppressed, lowerBound: lowerBound, excluding: value)
        return network.maximumFlow(from: tails[value], to: heads[value], limit: room)
    }

    /// How far the withheld figure `value` can rise from `point`, up to `limit`.
    func rise(of value: Int, point: [Int], suppressed: [Bool], lowerBound: Int, limit: Int) -> Int {
        var network = movementNetwork(point: point, suppressed: suppressed, lowerBound: lowerBound, excluding: value)
        return network.maximumFlow(from: heads[value], to: tails[value], limit: limit)
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
        let suppressed = known.map { $0 == nil }
        return (0..<valueCount).map { value in
            guard suppressed[value] else { return FeasibleInterval(lower: point[value], upper: point[value]) }
            let rise = rise(of: value, point: point, suppressed: suppressed, lowerBound: lowerBound, limit: FlowNetwork.unlimited)
            let fall = fall(of: value, point: point, suppressed: suppressed, lowerBound: lowerBound, limit: FlowNetwork.unlimited)
            return FeasibleInterval(lower: point[value] - fall, upper: rise >= FlowNetwork.unlimited ? nil : point[value] + rise)
        }
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

    init(nodeCount: Int) {
        firstArc = Array(repeating: -1, count: nodeCount)
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

    /// The node an arc leaves from.
    func tail(of arc: Int) -> Int { target[arc ^ 1] }

    /// The flow currently sent along an arc added with `addArc`.
    func flow(on arc: Int) -> Int { residual[arc ^ 1] }

    /// The labels of the arcs that carry flow, in arc order (with repeats).
    var labelsCarryingFlow: [Int] {
        stride(from: 0, to: arcCount, by: 2).compactMap { arc in
            residual[arc ^ 1] > 0 && label[arc] >= 0 ? label[arc] : nil
        }
    }

    /// Sends as much flow as possible (but no more than `limit`) from `source` to `sink`, and
    /// returns the amount. The residual capacities are left in place for further searches.
    mutating func maximumFlow(from source: Int, to sink: Int, limit: Int) -> Int {
        precondition(source != sink, "A flow needs two different end points.")
        var total = 0
        var level = [Int](repeating: -1, count: nodeCount)
        var current = [Int](repeating: -1, count: nodeCount)
        var queue = [Int](repeating: 0, count: nodeCount)
        while total < limit {
            for node in 0..<nodeCount { level[node] = -1 }
            level[source] = 0
            queue[0] = source
            var front = 0
            var back = 1
            while front < back {
                let node = queue[front]
                front += 1
                var arc = firstArc[node]
                while arc >= 0 {
                    let next = target[arc]
                    if residual[arc] > 0 && level[next] < 0 {
                        level[next] = level[node] + 1
                        queue[back] = next
                        back += 1
                    }
                    arc = nextArc[arc]
                }
            }
            if level[sink] < 0 { break }
            for node in 0..<nodeCount { current[node] = firstArc[node] }
            while total < limit {
                let pushed = augment(from: source, to: sink, amount: limit - total, level: level, current: &current)
                if pushed == 0 { break }
                total += pushed
            }
        }
        return total
    }

    private mutating func augment(from node: Int, to sink: Int, amount: Int, level: [Int], current: inout [Int]) -> Int {
        if node == sink { return amount }
        while current[node] >= 0 {
            let arc = current[node]
            let next = target[arc]
            if residual[arc] > 0 && level[next] == level[node] + 1 {
                let pushed = augment(from: next, to: sink, amount: min(amount, residual[arc]), level: level, current: &current)
                if pushed > 0 {
                    residual[arc] -= pushed
                    residual[arc ^ 1] += pushed
                    return pushed
                }
            }
            current[node] = nextArc[arc]
        }
        return 0
    }

    /// The cheapest path from `source` to `sink` using only arcs with at least `minimumResidual`
    /// capacity left, as a list of arcs; nil when there is none. Ties go to lower node numbers.
    func cheapestPath(from source: Int, to sink: Int, minimumResidual: Int) -> [Int]? {
        var distance = [Int](repeating: Int.max, count: nodeCount)
        var arcInto = [Int](repeating: -1, count: nodeCount)
        var settled = [Bool](repeating: false, count: nodeCount)
        distance[source] = 0
        while true {
            var node = -1
            for candidate in 0..<nodeCount where !settled[candidate] && distance[candidate] != Int.max {
                if node < 0 || distance[candidate] < distance[node] { node = candidate }
            }
            if node < 0 { return nil }
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
