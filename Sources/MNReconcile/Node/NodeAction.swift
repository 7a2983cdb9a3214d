public import MNCore

/// Something the agent must do to a runtime on this node. Actions name containers by id.
public enum NodeAction: Hashable, Sendable, Encodable {
    /// Create and start a new container for an instance.
    case start(StartContainer)
    /// Start an existing, stopped container of the desired spec again, by id.
    case restart(RestartContainer)
    /// Stop the exact old container by id (its signal, its grace, then kill), remove it,
    /// then create and start the new one.
    case replace(ReplaceContainer)
    /// Stop a container by id (if alive) with its signal and grace, then remove it.
    case stop(StopContainer)

    /// The existing container the action works on, if any.
    public var containerID: ContainerID? {
        switch self {
        case .start: nil
        case .restart(let restart): restart.container
        case .replace(let replace): replace.old.container
        case .stop(let stop): stop.container
        }
    }

    /// The desired slot (instance and spec hash) the action brings up, for placements.
    public var placedSlot: InstanceSlot? {
        switch self {
        case .start(let start): start.instance.slot
        case .restart(let restart): InstanceSlot(restart.instance, restart.specHash)
        case .replace(let replace): replace.new.instance.slot
        case .stop: nil
        }
    }

    /// The desired instance the action serves, if any.
    public var instance: InstanceID? {
        switch self {
        case .start(let start): start.instance.id
        case .restart(let restart): restart.instance
        case .replace(let replace): replace.new.instance.id
        case .stop(let stop): stop.instance
        }
    }

    enum CodingKeys: String, CodingKey { case action, start, restart, replace, stop }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .start(let value):
            try container.encode("start", forKey: .action)
            try container.encode(value, forKey: .start)
        case .restart(let value):
            try container.encode("restart", forKey: .action)
            try container.encode(value, forKey: .restart)
        case .replace(let value):
            try container.encode("replace", forKey: .action)
            try container.encode(value, forKey: .replace)
        case .stop(let value):
            try container.encode("stop", forKey: .action)
            try container.encode(value, forKey: .stop)
        }
    }
}

/// A container to create: the instance, its name and the labels that identify it.
extension NodeAction {
    /// The container this action creates (a start's, or a replace's new one), if any.
    public var start: StartContainer? {
        switch self {
        case .start(let start): start
        case .replace(let replace): replace.new
        case .restart, .stop: nil
        }
    }

    /// This action with the container it creates replaced by `start`.
    public func replacingStart(with start: StartContainer) -> NodeAction {
        switch self {
        case .start: return .start(start)
        case .replace(var replace):
            replace.new = start
            return .replace(replace)
        case .restart, .stop: return self
        }
    }
}

public struct StartContainer: Hashable, Sendable, Encodable {
    public var instance: DesiredInstance
    /// `mn-KEY-AGENT-INDEX-NODE-HASH12`: unique per instance, node and spec (a moving instance
    /// runs on two nodes at once, and several nodes' agents may share one podman).
    public var name: String
    public var labels: [String: String]
    /// The node's folder holding the instance's payloads, mounted read-only at
    /// ``MNCore/Payload/mountPath``: filled in by the agent once it wrote them (the pure layer
    /// knows no paths); `nil` when there are none.
    public var payloadDirectory: String?

    /// Describes the container for `instance` on `node`, named and labelled from its identity.
    public init(instance: DesiredInstance, node: NodeID) {
        self.instance = instance
        self.payloadDirectory = nil
        let id = instance.id
        // Container names allow [A-Za-z0-9_.-]; anything else in a node id becomes `_`.
        let host = String(node.rawValue.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        self.name = "mn-\(id.key)-\(id.agent)-\(id.index)-\(host)-\(instance.specHash.short)"
        self.labels = [
            ContainerLabel.node: node.rawValue,
            ContainerLabel.deploymentKey: id.key.rawValue,
            ContainerLabel.deploymentVersion: String(instance.version),
            ContainerLabel.agent: id.agent.rawValue,
            ContainerLabel.instance: String(id.index),
            ContainerLabel.specHash: instance.specHash.rawValue,
            ContainerLabel.role: instance.role.rawValue,
            ContainerLabel.stopSignal: instance.spec.lifecycle.stopSignal,
            ContainerLabel.gracePeriodMs: String(instance.spec.lifecycle.gracePeriodMs),
        ]
        let delay = instance.spec.shutdownDelayMs
        if delay > 0 { self.labels[ContainerLabel.shutdownDelayMs] = String(delay) }
    }
}

/// Start an existing container again, as the restart policy allows.
public struct RestartContainer: Hashable, Sendable, Encodable {
    public var container: ContainerID
    public var instance: InstanceID
    /// The spec the container runs (and the slot it serves).
    public var specHash: SpecHash
    /// 1 for the first restart within the policy's interval.
    public var attempt: Int

    /// Creates a restart of `container` for `instance`'s slot with `specHash`.
    public init(container: ContainerID, instance: InstanceID, specHash: SpecHash, attempt: Int) {
        self.container = container
        self.instance = instance
        self.specHash = specHash
        self.attempt = attempt
    }

    enum CodingKeys: String, CodingKey {
        case container, instance, attempt
        case specHash = "spec_hash"
    }
}

/// Why a container is stopped.
public enum StopReason: String, Hashable, Sendable, Encodable {
    /// No desired instance has its identity any more.
    case notDesired = "not_desired"
    /// Another container already serves the same instance and spec.
    case duplicate
    /// It runs an old spec of an instance that now has a new one.
    case superseded
    /// It carries mn's key label but not a complete identity.
    case unrecognized
}

/// Stop one container by id, gracefully, and remove it.
public struct StopContainer: Hashable, Sendable, Encodable {
    public var container: ContainerID
    /// The instance its labels name, if complete.
    public var instance: InstanceID?
    public var signal: String
    public var gracePeriodMs: Int
    public var reason: StopReason

    /// Stops `observed` with the lifecycle it was created with.
    public init(_ observed: ObservedContainer, reason: StopReason) {
        self.container = observed.id
        self.instance = observed.instanceID
        self.signal = observed.lifecycle.stopSignal
        self.gracePeriodMs = observed.lifecycle.gracePeriodMs
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case container, instance, signal, reason
        case gracePeriodMs = "grace_period_ms"
    }
}

/// Stop the old container of an instance, then start its new spec.
public struct ReplaceContainer: Hashable, Sendable, Encodable {
    public var old: StopContainer
    public var new: StartContainer

    /// Creates a replace of `old` by `new`.
    public init(old: StopContainer, new: StartContainer) {
        self.old = old
        self.new = new
    }
}
