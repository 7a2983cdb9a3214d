public import MNCore

/// A container as the runtime reports it: the other input of the node reconciler.
///
/// Only liveness (`state`, exit code and time) and mn's own labels are read; no
/// runtime-reported spec field is ever compared, so a container is never recreated
/// because the runtime describes it differently than the manifest does.
public struct ObservedContainer: Hashable, Sendable, Codable {
    /// The runtime's lifecycle states, reduced to what decisions need.
    public enum State: String, CaseIterable, Hashable, Sendable, Codable {
        /// Created but never started (or start failed).
        case created
        case running
        /// Paused or stopping: alive, so left alone like running.
        case paused
        case exited
        /// Anything else the runtime reports (removing, dead, unknown).
        case unknown
    }

    /// The runtime's own health status, passed through to status reports.
    public enum Health: String, CaseIterable, Hashable, Sendable, Codable {
        case none, starting, healthy, unhealthy
    }

    public var id: ContainerID
    public var name: String
    public var labels: [String: String]
    public var state: State
    public var exitCode: Int?
    public var startedAt: Timestamp?
    /// When it last exited; the restart delay counts from here.
    public var finishedAt: Timestamp?
    public var health: Health

    /// Creates an observation.
    public init(
        id: ContainerID, name: String, labels: [String: String], state: State, exitCode: Int? = nil,
        startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil, health: Health = .none
    ) {
        self.id = id
        self.name = name
        self.labels = labels
        self.state = state
        self.exitCode = exitCode
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.health = health
    }

    /// Running or paused: a process exists.
    public var isAlive: Bool { state == .running || state == .paused }

    /// Whether mn created it (it carries `mn.deployment.key`).
    public var isManaged: Bool { labels[ContainerLabel.deploymentKey] != nil }

    /// Whether the agent of `node` created it, so that agent may act on it.
    public func isManaged(by node: NodeID) -> Bool { isManaged && labels[ContainerLabel.node] == node.rawValue }

    /// The instance its labels name, or `nil` if they do not name one completely.
    public var instanceID: InstanceID? {
        guard let key = labels[ContainerLabel.deploymentKey], let agent = labels[ContainerLabel.agent],
            let indexText = labels[ContainerLabel.instance], let index = Int(indexText), index >= 0
        else { return nil }
        return InstanceID(key: DeploymentKey(key), agent: AgentID(agent), index: index)
    }

    /// The spec hash it was created from.
    public var specHash: SpecHash? { labels[ContainerLabel.specHash].map(SpecHash.init) }

    /// How to stop it: the signal and grace its own spec gave it at create.
    public var lifecycle: Lifecycle {
        let defaults = Lifecycle.defaults
        return Lifecycle(
            stopSignal: labels[ContainerLabel.stopSignal] ?? defaults.stopSignal,
            gracePeriodMs: labels[ContainerLabel.gracePeriodMs].flatMap(Int.init) ?? defaults.gracePeriodMs)
    }
}
