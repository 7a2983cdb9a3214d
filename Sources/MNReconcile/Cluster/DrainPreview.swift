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
        func desired(_ assigned: NodeAssignment.Instance) -> DesiredInstance? {
            guard let manifest = records[assigned.id.key]?.version(assigned.version)?.manifest,
                let spec = manifest.agent(assigned.id.agent)
            else { return nil }
            return DesiredInstance(
                key: assigned.id.key, spec: spec, index: assigned.id.index, version: assigned.version, role: assigned.role,
                restart: manifest.policies.restart, jobType: manifest.type, specHash: assigned.specHash, devices: assigned.devices)
        }
        var allocations: [Placement.Allocation] = []
        for (other, assignment) in input.assignments where other != node {
            for assigned in assignment.instances {
                guard let instance = desired(assigned) else { continue }
                allocations.append(
                    .init(
                        instance: instance.id, specHash: instance.specHash, node: other, cpuMillis: instance.spec.resources.cpuMillis ?? 0,
                        memoryMB: instance.spec.resources.memoryMB ?? 0, devices: assigned.devices, hostPorts: instance.spec.hostPorts))
            }
        }
        var items: [Item] = []
        var requests: [Placement.Request] = []
        for assigned in input.assignments[node]?.instances ?? [] {
            guard let instance = desired(assigned), let record = records[assigned.id.key] else { continue }
            if instance.jobType.isLongRunning {
                requests.append(Placement.Request(instance, constraints: ClusterReconciler.constraints(of: record, version: assigned.version)))
            } else {
                items.append(Item(instance: assigned.id, version: assigned.version, fate: .finishesOrStops))
            }
        }
        let nodes = input.nodes.map { info in
            var info = info
            if info.id == node { info.draining = true }
            return info
        }
        let output = Placement.place(.init(nodes: nodes, down: input.down, allocations: allocations, requests: requests))
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
