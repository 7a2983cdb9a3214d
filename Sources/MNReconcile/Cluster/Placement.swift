public import MNCore

/// Where instances run: a node for every instance that needs one, or the reason, per node,
/// why none fits.
///
/// Pure and deterministic: the same input, in any order, gives the same output. The rules:
/// - **sticky**: an instance that has a node (``Request/current``) stays there, whatever changed
///   elsewhere (a node joined, scores moved), even while that node is down (moving the
///   instances of a lost node is rescheduling, with its own policy and delays) — unless the
///   node no longer meets its constraints (a pin or a rule changed): then it is placed anew;
/// - **feasible**: the node is up, eligible and not draining, meets every constraint, and has
///   the CPU, memory, devices and host ports the instance asks for, after what is already
///   allocated there (``Input/allocations`` and the instances placed before it in this call);
/// - **an update stays put**: an instance that replaces one of another spec
///   (``Request/replacing``) takes that instance's node when it is feasible there: in its place
///   (its resources counted as free) when the old one is an allocation that goes, beside it
///   when the old one is a request that keeps running (a rollout's side by side);
/// - **otherwise spread, then least loaded**: the node with the fewest instances of the same
///   agent, then the lowest CPU or memory use after placing (the higher of the two, per mille
///   of capacity), then the fewest instances, then the smallest node id.
///
/// Instances are placed in instance order, so an earlier one is never displaced by a later one.
public enum Placement {
    /// Everything one placement looks at.
    public struct Input: Hashable, Sendable {
        /// The registered nodes (ids are unique).
        public var nodes: [NodeInfo]
        /// Nodes whose heartbeat expired: nothing new is placed there (what runs there stays).
        public var down: Set<NodeID>
        /// Instances that hold resources on nodes and are not placed by this call: other
        /// deployments', and the old instances an update replaces.
        public var allocations: [Allocation]
        /// The instances to place.
        public var requests: [Request]

        /// Creates an input.
        public init(nodes: [NodeInfo], down: Set<NodeID> = [], allocations: [Allocation] = [], requests: [Request]) {
            self.nodes = nodes
            self.down = down
            self.allocations = allocations
            self.requests = requests
        }
    }

    /// What one instance holds on its node.
    public struct Allocation: Hashable, Sendable {
        public var instance: InstanceID
        public var specHash: SpecHash
        public var node: NodeID
        public var cpuMillis: Int
        public var memoryMB: Int
        /// The ids of the node's devices it was given.
        public var devices: [String]
        public var hostPorts: [HostPort]

        /// Creates an allocation.
        public init(
            instance: InstanceID, specHash: SpecHash, node: NodeID, cpuMillis: Int = 0, memoryMB: Int = 0, devices: [String] = [],
            hostPorts: [HostPort] = []
        ) {
            self.instance = instance
            self.specHash = specHash
            self.node = node
            self.cpuMillis = cpuMillis
            self.memoryMB = memoryMB
            self.devices = devices
            self.hostPorts = hostPorts
        }
    }

    /// An instance that needs a node.
    public struct Request: Hashable, Sendable {
        public var instance: InstanceID
        public var specHash: SpecHash
        public var resources: Resources
        public var hostPorts: [HostPort]
        /// The manifest's and the agent's constraints together.
        public var constraints: [PlacementConstraint]
        /// Where it runs now, with the devices it was given: kept while that node is up.
        public var current: Current?
        /// The spec hash of the instance (same id) it replaces, whose node it prefers.
        public var replacing: SpecHash?

        /// Where an instance runs now.
        public struct Current: Hashable, Sendable {
            public var node: NodeID
            public var devices: [String]

            /// Creates a current placement.
            public init(node: NodeID, devices: [String] = []) {
                self.node = node
                self.devices = devices
            }
        }

        /// Creates a request.
        public init(
            instance: InstanceID, specHash: SpecHash, resources: Resources = .none, hostPorts: [HostPort] = [],
            constraints: [PlacementConstraint] = [], current: Current? = nil, replacing: SpecHash? = nil
        ) {
            self.instance = instance
            self.specHash = specHash
            self.resources = resources
            self.hostPorts = hostPorts
            self.constraints = constraints
            self.current = current
            self.replacing = replacing
        }
    }

    /// A node chosen for an instance.
    public struct Placed: Hashable, Sendable {
        public var instance: InstanceID
        public var specHash: SpecHash
        public var node: NodeID
        /// The ids of the node's devices it is given, sorted.
        public var devices: [String]
    }

    /// An instance no node can take now, and why not, per node.
    public struct Unplaced: Hashable, Sendable {
        public var instance: InstanceID
        public var specHash: SpecHash
        /// Each registered node and why it does not fit, by node id.
        public var reasons: [(node: NodeID, reason: String)]

        /// `no node fits agent "embed": a: no gpu; b: draining`.
        public var explanation: String {
            let nodes =
                reasons.isEmpty ? "no node is registered" : reasons.map { "\($0.node): \($0.reason)" }.joined(separator: "; ")
            return "no node fits agent \"\(instance.agent)\": \(nodes)"
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.instance == rhs.instance && lhs.specHash == rhs.specHash && lhs.reasons.elementsEqual(rhs.reasons, by: ==)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(instance)
            hasher.combine(specHash)
            for (node, reason) in reasons {
                hasher.combine(node)
                hasher.combine(reason)
            }
        }
    }

    /// Placement's answer, each list in instance order.
    public struct Output: Hashable, Sendable {
        public var placed: [Placed]
        public var unplaced: [Unplaced]
    }

    /// Places `input.requests`.
    public static func place(_ input: Input) -> Output {
        var nodes = Nodes(input.nodes, down: input.down)
        for allocation in input.allocations.sorted(by: allocationOrder) { nodes.hold(allocation) }

        var requests: [Request] = []
        for request in input.requests.sorted(by: requestOrder)
        where requests.last.map({ $0.instance != request.instance || $0.specHash != request.specHash }) ?? true {
            requests.append(request)
        }
        var output = Output(placed: [], unplaced: [])
        var pending: [Request] = []
        let checker = ConstraintChecker(requests: requests)
        // Sticky first: what runs stays, and holds its resources before anything new is placed,
        // unless its node no longer meets its constraints (a pin or a rule changed): then it is
        // placed again like a new instance.
        for request in requests {
            guard let current = request.current else {
                pending.append(request)
                continue
            }
            // A node that is down (or not registered now) keeps what it has: whether and when
            // its instances move elsewhere is the reschedule policy's call, not placement's.
            if let node = nodes.index(of: current.node), !nodes.isDown(node) {
                guard nodes.meets(request, on: node, checker: checker) else {
                    var moving = request
                    moving.current = nil
                    pending.append(moving)
                    continue
                }
                nodes.hold(request, devices: current.devices, on: node)
            }
            output.placed.append(Placed(instance: request.instance, specHash: request.specHash, node: current.node, devices: current.devices.sorted()))
        }
        // Allocations an update may still replace in place (each once).
        var replaceable = Dictionary(grouping: input.allocations.sorted(by: allocationOrder), by: \.instance)
        // Instances that keep running: an update's new instance goes beside the one it replaces.
        let running = Dictionary(grouping: output.placed, by: \.instance)
        for request in pending {
            let choice = choose(
                request, in: nodes, replaceable: replaceable[request.instance] ?? [], beside: running[request.instance] ?? [],
                checker: checker)
            switch choice {
            case .placed(let node, let devices, let replaced):
                if let replaced {
                    nodes.release(replaced)
                    replaceable[request.instance]?.removeAll { $0 == replaced }
                }
                nodes.hold(request, devices: devices, on: node)
                output.placed.append(Placed(instance: request.instance, specHash: request.specHash, node: nodes.id(node), devices: devices))
            case .unplaced(let reasons):
                output.unplaced.append(Unplaced(instance: request.instance, specHash: request.specHash, reasons: reasons))
            }
        }
        output.placed.sort { ($0.instance, $0.specHash) < ($1.instance, $1.specHash) }
        return output
    }

    private enum Choice {
        /// On `node` with `devices`; `replaced` is the instance it replaces there, whose resources it takes over.
        case placed(node: Int, devices: [String], replaced: Allocation?)
        case unplaced([(node: NodeID, reason: String)])
    }

    /// The node for `request`: the node of the instance it replaces when it fits there (in its
    /// place when that one is an allocation going away, beside it when that one keeps running),
    /// else the best feasible one.
    private static func choose(
        _ request: Request, in nodes: Nodes, replaceable: [Allocation], beside running: [Placed], checker: ConstraintChecker
    ) -> Choice {
        let replaced = request.replacing.flatMap { hash in replaceable.first { $0.specHash == hash } }
        let besideNode =
            replaced == nil ? request.replacing.flatMap { hash in running.first { $0.specHash == hash } }.flatMap { nodes.index(of: $0.node) } : nil
        var reasons: [(node: NodeID, reason: String)] = []
        var best: (score: Score, node: Int, devices: [String])?
        for node in nodes.indices {
            let freed = replaced.flatMap { nodes.index(of: $0.node) == node ? $0 : nil }
            switch nodes.fit(request, on: node, freeing: freed, checker: checker) {
            case .failure(let reason):
                reasons.append((nodes.id(node), reason.text))
            case .success(let fit):
                if freed != nil || node == besideNode { return .placed(node: node, devices: fit.devices, replaced: freed) }
                if best.map({ fit.score < $0.score }) ?? true { best = (fit.score, node, fit.devices) }
            }
        }
        if let best { return .placed(node: best.node, devices: best.devices, replaced: nil) }
        return .unplaced(reasons)
    }

    static func requestOrder(_ a: Request, _ b: Request) -> Bool {
        if a.instance != b.instance { return a.instance < b.instance }
        if a.specHash != b.specHash { return a.specHash < b.specHash }
        return CanonicalJSON.bytes(of: RequestKey(a)).lexicographicallyPrecedes(CanonicalJSON.bytes(of: RequestKey(b)))
    }

    static func allocationOrder(_ a: Allocation, _ b: Allocation) -> Bool {
        (a.node, a.instance, a.specHash) < (b.node, b.instance, b.specHash)
    }

    /// The parts of a request that tell two requests of one instance and spec apart, for a total order.
    private struct RequestKey: Encodable {
        let resources: Resources
        let ports: [String]
        let constraints: [PlacementConstraint]
        let current: String?
        let replacing: String?

        init(_ request: Request) {
            resources = request.resources
            ports = request.hostPorts.map(\.description)
            constraints = request.constraints
            current = request.current.map { "\($0.node)/\($0.devices.joined(separator: ","))" }
            replacing = request.replacing?.rawValue
        }
    }
}

/// A comparable placement score: smaller is better.
struct Score: Comparable {
    var sameAgent: Int
    var loadPerMille: Int
    var instances: Int
    var node: NodeID

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.sameAgent, lhs.loadPerMille, lhs.instances, lhs.node) < (rhs.sameAgent, rhs.loadPerMille, rhs.instances, rhs.node)
    }
}
