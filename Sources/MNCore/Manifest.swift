/// A deployment manifest: the desired agents of one deployment key and its policies.
///
/// Read one with ``Manifest/parse(_:format:)``; it is fully defaulted and validated.
public struct Manifest: Hashable, Sendable {
    /// The kind of job, which decides how updates and exits are treated.
    public enum JobType: String, CaseIterable, Hashable, Sendable, Codable {
        /// Long-running; updated in place, restarted on any exit.
        case service
        /// Long-running, one copy per eligible node.
        case system
        /// Runs to completion; versions are kept as rerun history.
        case batch
        /// Runs to completion on every eligible node.
        case sysbatch

        /// Whether instances are meant to run until stopped.
        public var isLongRunning: Bool { self == .service || self == .system }
    }

    public var key: DeploymentKey
    public var type: JobType
    public var agents: [AgentSpec]
    public var edges: [TopologyEdge]
    /// Rules every agent's nodes must meet (`constraints[]`); agents may add their own.
    public var constraints: [PlacementConstraint]
    public var policies: Policies
    /// The bundle's payload files, sorted by path (see ``Payload``); empty without a bundle.
    public var payloads: [Payload]

    /// Creates a manifest (already validated values are expected; see ``validate()``).
    public init(
        key: DeploymentKey, type: JobType = .service, agents: [AgentSpec], edges: [TopologyEdge] = [],
        constraints: [PlacementConstraint] = [], policies: Policies = .defaults, payloads: [Payload] = []
    ) {
        self.key = key
        self.type = type
        self.agents = agents
        self.edges = edges
        self.constraints = constraints
        self.policies = policies
        self.payloads = payloads
    }

    /// The agent with `id`, if the manifest has one.
    public func agent(_ id: AgentID) -> AgentSpec? { agents.first { $0.id == id } }

    /// What a node must meet to run `agent`: the manifest's constraints, then the agent's own.
    public func constraints(of agent: AgentSpec) -> [PlacementConstraint] { constraints + agent.constraints }
}
