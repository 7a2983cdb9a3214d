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

    public var id: ContainerID {
        get { box.value.id }
        set { box = box.changing { $0.id = newValue } }
    }
    public var name: String {
        get { box.value.name }
        set { box = box.changing { $0.name = newValue } }
    }
    /// The container's labels; mn's identity labels are read once, when they are set.
    public var labels: [String: String] {
        get { box.value.labels }
        set {
            box = box.changing {
                $0.labels = newValue
                $0.identity = Identity(newValue)
            }
        }
    }
    public var state: State {
        get { box.value.state }
        set { box = box.changing { $0.state = newValue } }
    }
    public var exitCode: Int? {
        get { box.value.exitCode }
        set { box = box.changing { $0.exitCode = newValue } }
    }
    public var startedAt: Timestamp? {
        get { box.value.startedAt }
        set { box = box.changing { $0.startedAt = newValue } }
    }
    /// When it last exited; the restart delay counts from here.
    public var finishedAt: Timestamp? {
        get { box.value.finishedAt }
        set { box = box.changing { $0.finishedAt = newValue } }
    }
    public var health: Health {
        get { box.value.health }
        set { box = box.changing { $0.health = newValue } }
    }
    /// The ports it publishes on the node, as the runtime reports them.
    public var ports: [PublishedPort] {
        get { box.value.ports }
        set { box = box.changing { $0.ports = newValue } }
    }

    /// Creates an observation.
    public init(
        id: ContainerID, name: String, labels: [String: String], state: State, exitCode: Int? = nil,
        startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil, health: Health = .none, ports: [PublishedPort] = []
    ) {
        box = Shared(
            Fields(
                id: id, name: name, labels: labels, identity: Identity(labels), state: state, exitCode: exitCode, startedAt: startedAt,
                finishedAt: finishedAt, health: health, ports: ports))
    }

    /// The fields, held by reference so that a container is one pointer to copy (a reconcile
    /// over many containers copies them often); a change makes a new box.
    private struct Fields: Hashable, Sendable {
        var id: ContainerID
        var name: String
        var labels: [String: String]
        var identity: Identity
        var state: State
        var exitCode: Int?
        var startedAt: Timestamp?
        var finishedAt: Timestamp?
        var health: Health
        var ports: [PublishedPort]
    }

    private var box: Shared<Fields>

    /// What mn's labels say about the container (see ``Identity``).
    var identity: Identity { box.value.identity }

    /// Running or paused: a process exists.
    public var isAlive: Bool { state == .running || state == .paused }

    /// What mn's labels say about the container, parsed once when the labels are set: a
    /// reconcile over many containers reads these fields, not the label dictionary.
    struct Identity: Hashable, Sendable {
        /// `mn.deployment.key`: present exactly when mn created the container.
        var key: DeploymentKey?
        /// `mn.node`.
        var node: String?
        /// The instance the labels name, if they name one completely.
        var instance: InstanceID?
        /// `mn.spec-hash`.
        var specHash: SpecHash?

        init(_ labels: [String: String]) {
            key = labels[ContainerLabel.deploymentKey].map(DeploymentKey.init)
            node = labels[ContainerLabel.node]
            specHash = labels[ContainerLabel.specHash].map(SpecHash.init)
            if let key, let agent = labels[ContainerLabel.agent], let indexText = labels[ContainerLabel.instance],
                let index = Int(indexText), index >= 0
            {
                instance = InstanceID(key: key, agent: AgentID(agent), index: index)
            }
        }
    }
    /// Whether mn created it (it carries `mn.deployment.key`).
    public var isManaged: Bool { identity.key != nil }

    /// The deployment its `mn.deployment.key` label names, if it carries one.
    public var deploymentKey: DeploymentKey? { identity.key }

    /// Whether the agent of `node` created it, so that agent may act on it.
    public func isManaged(by node: NodeID) -> Bool { identity.key != nil && identity.node == node.rawValue }

    /// The instance its labels name, or `nil` if they do not name one completely.
    public var instanceID: InstanceID? { identity.instance }

    /// The spec hash it was created from.
    public var specHash: SpecHash? { identity.specHash }

    /// How to stop it: the signal and grace its own spec gave it at create.
    public var lifecycle: Lifecycle {
        let defaults = Lifecycle.defaults
        return Lifecycle(
            stopSignal: labels[ContainerLabel.stopSignal] ?? defaults.stopSignal,
            gracePeriodMs: labels[ContainerLabel.gracePeriodMs].flatMap(Int.init) ?? defaults.gracePeriodMs,
            shutdownDelayMs: labels[ContainerLabel.shutdownDelayMs].flatMap(Int.init) ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, labels, state, exitCode, startedAt, finishedAt, health, ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(ContainerID.self, forKey: .id), name: try container.decode(String.self, forKey: .name),
            labels: try container.decode([String: String].self, forKey: .labels), state: try container.decode(State.self, forKey: .state),
            exitCode: try container.decodeIfPresent(Int.self, forKey: .exitCode),
            startedAt: try container.decodeIfPresent(Timestamp.self, forKey: .startedAt),
            finishedAt: try container.decodeIfPresent(Timestamp.self, forKey: .finishedAt),
            health: try container.decode(Health.self, forKey: .health),
            ports: try container.decodeIfPresent([PublishedPort].self, forKey: .ports) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(labels, forKey: .labels)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(exitCode, forKey: .exitCode)
        try container.encodeIfPresent(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try container.encode(health, forKey: .health)
        if !ports.isEmpty { try container.encode(ports, forKey: .ports) }
    }
}
