public import MNCore

/// What draining a node would do to the instances it is assigned now, for `mnctl node drain
/// --dry-run`: where each service instance would go (placed all at once, as if every move were
/// already done: the real drain moves `max_parallel` at a time), which no node can take (and
/// why), and which are batch runs left to finish until the deadline. Pure.
public enum DrainPreview {
    /// What happens to one instance.
    public enum Fate: Hashable, Sendable {
        /// A copy starts on `node`; the original stops once the copy is healthy.
        case moves(to: NodeID)
        /// No other node fits it: it stops at the deadline. `reason` says why, per node.
        case unplaceable(reason: String)
        /// A batch run: it may finish; at the deadline it stops.
        case finishesOrStops
    }

    /// One instance of the node and its fate.
    public struct Item: Hashable, Sendable {
        public var instance: InstanceID
        public var version: Int
        public var fate: Fate
    }

    /// The fate of every instance `input` assigns to `node`, in instance order.
    public static func preview(_ input: ClusterReconciler.Input, draining node: NodeID) -> [Item] {
        let records = Dictionary(input.deployments.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        /// The desired instances an assignment describes, from the versions in `records`.
        func desired(_ assignment: NodeAssignment) -> [DesiredInstance] {
            var manifests: [DeploymentID: Manifest] = [:]
            for (key, numbers) in assignment.versions {
                for number in numbers { manifests[DeploymentID(key: key, version: number)] = records[key]?.version(number)?.manifest }
            }
            return assignment.desiredInstances(manifests: manifests).instances
        }
        var allocations: [Placement.Allocation] = []
        for (other, assignment) in input.assignments where other != node {
            for instance in desired(assignment) {
                allocations.append(.init(instance.id, specHash: instance.specHash, spec: instance.spec, on: other, devices: instance.devices))
            }
        }
        var items: [Item] = []
        var requests: [Placement.Request] = []
        for instance in input.assignments[node].map(desired) ?? [] {
            guard let record = records[instance.id.key] else { continue }
            if instance.jobType.isLongRunning {
                requests.append(Placement.Request(instance, constraints: ClusterReconciler.constraints(of: record, version: instance.version)))
            } else {
                items.append(Item(instance: instance.id, version: instance.version, fate: .finishesOrStops))
            }
        }
        let nodes = input.nodes.map { info in
            var info = info
            if info.id == node { info.draining = true }
            return info
        }
        let output = Placement.place(.init(nodes: nodes, down: Set(input.down.keys), allocations: allocations, requests: requests))
        let versions = Dictionary((input.assignments[node]?.instances ?? []).map { (InstanceSlot($0.id, $0.specHash), $0.version) }, uniquingKeysWith: { a, _ in a })
        for placed in output.placed {
            items.append(Item(instance: placed.instance, version: versions[InstanceSlot(placed.instance, placed.specHash)] ?? 0, fate: .moves(to: placed.node)))
        }
        for missing in output.unplaced {
            items.append(
                Item(instance: missing.instance, version: versions[InstanceSlot(missing.instance, missing.specHash)] ?? 0, fate: .unplaceable(reason: missing.explanation)))
        }
        return items.sorted { $0.instance < $1.instance }
    }
}
