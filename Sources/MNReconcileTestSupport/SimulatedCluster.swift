public import MNCore
public import MNReconcile

/// A cluster in memory for the pure cluster level: the controller's decisions are applied as
/// the store would apply them, and each node "runs" its assignment at once (every assigned
/// instance running with a container of its own, healthy unless its spec is listed in
/// ``unhealthy``), answers its checks (passing unless ``problems`` names the node) and reports.
public struct SimulatedCluster: Sendable {
    public var nodes: [NodeInfo]
    /// Nodes that are down, with when they went down (see ``cut(_:)``).
    public var down: [NodeID: Timestamp] = [:]
    public var deployments: [DeploymentKey: Deployment] = [:]
    public var assignments: [NodeID: NodeAssignment] = [:]
    public var reports: [NodeID: [InstanceStatus]] = [:]
    public var verdicts: [DeploymentKey: [NodeID: ValidationVerdict]] = [:]
    /// Drains in progress (see ``drain(_:deadline:)``).
    public var drains: [NodeID: NodeDrain] = [:]
    /// Preflight problems a node finds in any version it checks.
    public var problems: [NodeID: [String]] = [:]
    /// Specs whose instances report unhealthy.
    public var unhealthy: Set<SpecHash> = []
    public var now: Timestamp
    /// Containers by node and slot: a slot keeps its container while it stays assigned.
    public private(set) var containers: [NodeID: [InstanceSlot: ContainerID]] = [:]
    private var nextContainer = 0

    /// A cluster of `nodes` at `now`.
    public init(nodes: [NodeInfo], now: Timestamp) {
        self.nodes = nodes
        self.now = now
    }

    /// Records `manifest` as a new version of its deployment (as `mnctl apply` does).
    public mutating func apply(_ manifest: Manifest, pin: NodeID? = nil) {
        if var deployment = deployments[manifest.key] {
            _ = try? deployment.append(manifest, at: now)
            deployment.node = pin
            deployments[manifest.key] = deployment
        } else {
            var deployment = Deployment(first: manifest, at: now)
            deployment.node = pin
            deployments[manifest.key] = deployment
        }
    }

    /// The controller's input now.
    public var input: ClusterReconciler.Input {
        .init(
            nodes: nodes, down: down, deployments: deployments.values.sorted { $0.key < $1.key }, reports: reports, verdicts: verdicts,
            assignments: assignments, drains: drains, now: now)
    }

    /// Starts draining `node` until `deadline` (as `mnctl node drain` does).
    public mutating func drain(_ node: NodeID, deadline: Timestamp) {
        drains[node] = NodeDrain(reason: "test", by: "test", since: now, deadline: deadline)
        for index in nodes.indices where nodes[index].id == node { nodes[index].draining = true }
    }

    /// Ends the drain of `node` and makes it eligible again.
    public mutating func undrain(_ node: NodeID) {
        drains[node] = nil
        for index in nodes.indices where nodes[index].id == node { nodes[index].draining = false }
    }

    /// Cuts `node` off now: it goes down (its heartbeat expires) and stops reporting, while
    /// its containers keep running as they were (a node that cannot reach the store stops nothing).
    public mutating func cut(_ node: NodeID) {
        down[node] = now
    }

    /// Brings `node` back: it is up and runs its assignment again at its next pass.
    public mutating func restore(_ node: NodeID) {
        down[node] = nil
    }

    /// One controller pass, its output stored.
    @discardableResult
    public mutating func controllerPass() -> ClusterReconciler.Output {
        let output = ClusterReconciler.reconcile(input)
        for record in output.records { deployments[record.key] = record }
        for (node, assignment) in output.assignments { assignments[node] = assignment }
        return output
    }

    /// Every node that is up runs its assignment and reports.
    public mutating func nodePasses() {
        for node in nodes.map(\.id).sorted() where down[node] == nil {
            guard let assignment = assignments[node] else { continue }
            for check in assignment.checks where verdicts[check.key]?[node]?.version != check.version {
                verdicts[check.key, default: [:]][node] = ValidationVerdict(version: check.version, problems: problems[node] ?? [])
            }
            var running: [InstanceSlot: ContainerID] = [:]
            var statuses: [InstanceStatus] = []
            for instance in assignment.instances {
                let slot = InstanceSlot(instance.id, instance.specHash)
                let container: ContainerID
                if let existing = containers[node]?[slot] {
                    container = existing
                } else {
                    nextContainer += 1
                    container = ContainerID("c\(nextContainer)")
                }
                running[slot] = container
                statuses.append(
                    InstanceStatus(
                        id: instance.id, version: instance.version, specHash: instance.specHash, phase: .running, container: container,
                        health: unhealthy.contains(instance.specHash) ? .unhealthy : .healthy))
            }
            containers[node] = running
            reports[node] = statuses
        }
    }

    /// A controller pass, the nodes' passes, then `ms` later.
    public mutating func step(advancing ms: Int64 = 1_000) {
        controllerPass()
        nodePasses()
        now = now.adding(ms: ms)
    }

    /// Running containers reported healthy, per deployment: distinct slots (a slot on two nodes counts once).
    public var healthy: [DeploymentKey: Int] {
        var slots: [DeploymentKey: Set<InstanceSlot>] = [:]
        for statuses in reports.values {
            for status in statuses where status.phase == .running && status.health == .healthy {
                slots[status.id.key, default: []].insert(status.slot)
            }
        }
        return slots.mapValues(\.count)
    }

    /// Every running container: node, slot.
    public var running: [(node: NodeID, slot: InstanceSlot)] {
        containers.sorted { $0.key < $1.key }.flatMap { node, slots in slots.keys.sorted { "\($0)" < "\($1)" }.map { (node, $0) } }
    }

    /// Running instances per node.
    public var spread: [NodeID: Int] { containers.filter { !$0.value.isEmpty }.mapValues(\.count) }
}
