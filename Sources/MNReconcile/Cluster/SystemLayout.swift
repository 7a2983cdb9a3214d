import MNCore

/// Where a system (or sysbatch) deployment runs: one instance of each agent on every eligible
/// node that meets its constraints, numbered by node.
///
/// Each node it runs on has an instance index of its own, kept while it runs there (read back
/// from where its instances are), so a node joining or leaving changes nothing on the others.
/// A node that joins takes the lowest free index; one made ineligible, or whose attributes no
/// longer meet the constraints, loses its index and its instances. A node that is down keeps
/// its index (its instances are lost, never moved: they serve that node), and so does a
/// draining one until its drain stops them last.
///
/// The planners number units 0..<n, so their view is *compact*: unit `i` is the node with the
/// `i`-th smallest index. ``compact(_:)`` and ``expand(_:)`` translate statuses, desired instances
/// and the rollout's progress between the two (the identity while no index is free).
struct SystemLayout {
    /// The nodes it runs on, by instance index, ascending.
    let nodes: [(index: Int, node: NodeID)]

    /// Instances of each agent: one per node.
    var count: Int { nodes.count }

    /// The node of instance index `index`, if one has it.
    func node(of index: Int) -> NodeID? { nodeByIndex[index] }

    private let nodeByIndex: [Int: NodeID]
    private let compactByIndex: [Int: Int]

    init(_ nodes: [(index: Int, node: NodeID)]) {
        self.nodes = nodes.sorted { $0.index < $1.index }
        nodeByIndex = Dictionary(uniqueKeysWithValues: self.nodes.map { ($0.index, $0.node) })
        compactByIndex = Dictionary(uniqueKeysWithValues: self.nodes.enumerated().map { ($1.index, $0) })
    }

    /// The layout of `deployment` now: the nodes its instances are on (`current`) that may
    /// keep them, then every other node it fits, in node order, each with the lowest free index.
    /// `constraints` are its latest version's manifest-level constraints and pin.
    static func of(
        _ deployment: Deployment, constraints: [PlacementConstraint], nodes: [NodeInfo], down: Set<NodeID>,
        current: [InstanceSlot: Placement.Request.Current]
    ) -> SystemLayout {
        let checker = ConstraintChecker(constraints: constraints)
        let info = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func fits(_ node: NodeInfo) -> Bool { node.eligible && constraints.allSatisfy { checker.unmet($0, on: node) == nil } }
        var byNode: [NodeID: Int] = [:]
        var taken: Set<Int> = []
        let mine = current.filter { $0.key.instance.key == deployment.key }
        for (slot, at) in mine.sorted(by: { ($0.key.instance, $0.key.specHash) < ($1.key.instance, $1.key.specHash) })
        where byNode[at.node] == nil && !taken.contains(slot.instance.index) {
            guard let node = info[at.node], down.contains(node.id) || node.draining || fits(node) else { continue }
            byNode[at.node] = slot.instance.index
            taken.insert(slot.instance.index)
        }
        var next = 0
        for node in nodes.sorted(by: { $0.id < $1.id }) where byNode[node.id] == nil && !down.contains(node.id) && !node.draining && fits(node) {
            while taken.contains(next) { next += 1 }
            byNode[node.id] = next
            taken.insert(next)
        }
        return SystemLayout(byNode.map { (index: $0.value, node: $0.key) })
    }

    // MARK: Compact and expanded numbering

    /// `statuses` numbered for the planners (instances of no node here are left out).
    func compact(_ statuses: [InstanceStatus]) -> [InstanceStatus] {
        statuses.compactMap { status in
            guard let position = compactByIndex[status.id.index] else { return nil }
            var status = status
            status.id.index = position
            return status
        }
    }

    /// The planners' `instances` with their nodes' indices.
    func expand(_ instances: [DesiredInstance]) -> [DesiredInstance] {
        instances.compactMap { instance in
            guard instance.id.index < nodes.count else { return nil }
            var instance = instance
            instance.id.index = nodes[instance.id.index].index
            return instance
        }
    }

    /// `state` numbered for the planners.
    func compact(_ state: RolloutState) -> RolloutState {
        var compacted = state
        for agent in state.units.keys {
            let progress = state.progress(of: agent)
            compacted.setProgress(nodes.map { $0.index < progress.count ? progress[$0.index] : UnitProgress() }, of: agent)
        }
        return compacted
    }

    /// The planners' `state` with the nodes' indices (progress of indices no node has is dropped).
    func expand(_ state: RolloutState) -> RolloutState {
        var expanded = state
        let size = (nodes.last?.index ?? -1) + 1
        for agent in state.units.keys {
            let progress = state.progress(of: agent)
            var full = Array(repeating: UnitProgress(), count: size)
            for (position, entry) in nodes.enumerated() where position < progress.count { full[entry.index] = progress[position] }
            expanded.setProgress(full, of: agent)
        }
        return expanded
    }

    /// The constraint that puts instance index `index` on its node.
    func pin(_ index: Int) -> [PlacementConstraint] {
        node(of: index).map { [PlacementConstraint(.nodeID, .equals($0.rawValue))] } ?? []
    }
}
