public import MNCore

/// Where one desired instance stands after a reconcile.
public enum InstancePhase: Hashable, Sendable {
    /// A start, restart or replace is in this plan; not yet seen running.
    case pending
    /// A container of the desired spec is alive.
    case running
    /// Down, waiting for the restart policy's delay to end at the given time.
    case restarting(at: Timestamp)
    /// A batch instance that exited 0.
    case complete
    /// Start failed or the restart policy ran out; `retryAt` is the next attempt, if any (`nil`:
    /// none comes, the failure is final).
    case failed(reason: String, retryAt: Timestamp?)
    /// On a node that is down since the given time: unavailable, neither healthy nor failed.
    /// Only the cluster level says so (a node never reports itself lost).
    case lost(since: Timestamp)
    /// Not started: a service it requires (`requires_services`, required) has no passing
    /// instance; starts within one pass of one passing.
    case waiting(reason: String)

    /// The phase's name as printed (`Running`, `Failed`, …).
    public var name: String {
        switch self {
        case .pending: "Pending"
        case .running: "Running"
        case .restarting: "Restarting"
        case .complete: "Complete"
        case .failed: "Failed"
        case .lost: "Lost"
        case .waiting: "Waiting"
        }
    }
}

extension InstancePhase: Codable {
    enum CodingKeys: String, CodingKey {
        case phase, reason
        case until = "until"
        case since
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .phase)
        let until = try container.decodeIfPresent(Timestamp.self, forKey: .until)
        switch name {
        case "Pending": self = .pending
        case "Running": self = .running
        case "Complete": self = .complete
        case "Restarting":
            guard let until else {
                throw DecodingError.dataCorruptedError(forKey: .until, in: container, debugDescription: "Restarting needs 'until'")
            }
            self = .restarting(at: until)
        case "Failed": self = .failed(reason: try container.decode(String.self, forKey: .reason), retryAt: until)
        case "Lost": self = .lost(since: try container.decode(Timestamp.self, forKey: .since))
        case "Waiting": self = .waiting(reason: try container.decode(String.self, forKey: .reason))
        default:
            throw DecodingError.dataCorruptedError(forKey: .phase, in: container, debugDescription: "unknown phase '\(name)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .phase)
        switch self {
        case .restarting(let at): try container.encode(at, forKey: .until)
        case .lost(let since): try container.encode(since, forKey: .since)
        case .waiting(let reason): try container.encode(reason, forKey: .reason)
        case .failed(let reason, let retryAt):
            try container.encode(reason, forKey: .reason)
            try container.encodeIfPresent(retryAt, forKey: .until)
        default: break
        }
    }
}

/// The reported state of one desired instance.
public struct InstanceStatus: Hashable, Sendable, Codable {
    public var id: InstanceID
    public var version: Int
    public var specHash: SpecHash
    public var phase: InstancePhase
    /// The container that serves it now, if one is alive or kept for restart.
    public var container: ContainerID?
    public var health: ObservedContainer.Health?
    /// The ports its container publishes (the node fills them in from the runtime).
    public var ports: [PublishedPort]

    /// Creates a status.
    public init(
        id: InstanceID, version: Int, specHash: SpecHash, phase: InstancePhase, container: ContainerID? = nil,
        health: ObservedContainer.Health? = nil, ports: [PublishedPort] = []
    ) {
        self.id = id
        self.version = version
        self.specHash = specHash
        self.phase = phase
        self.container = container
        self.health = health
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey {
        case id, version, phase, container, health, ports
        case specHash = "spec_hash"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(InstanceID.self, forKey: .id)
        version = try container.decode(Int.self, forKey: .version)
        specHash = try container.decode(SpecHash.self, forKey: .specHash)
        phase = try container.decode(InstancePhase.self, forKey: .phase)
        self.container = try container.decodeIfPresent(ContainerID.self, forKey: .container)
        health = try container.decodeIfPresent(ObservedContainer.Health.self, forKey: .health)
        ports = try container.decodeIfPresent([PublishedPort].self, forKey: .ports) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(version, forKey: .version)
        try container.encode(specHash, forKey: .specHash)
        try container.encode(phase, forKey: .phase)
        try container.encodeIfPresent(self.container, forKey: .container)
        try container.encodeIfPresent(health, forKey: .health)
        if !ports.isEmpty { try container.encode(ports, forKey: .ports) }
    }
}

/// The node reconciler's answer: what to do now, where each instance stands, what to
/// remember, and when to look again.
public struct NodePlan: Hashable, Sendable {
    /// Actions in the order to run them: stops, then replaces, restarts and starts,
    /// each group sorted by instance and container id.
    public var actions: [NodeAction]
    /// One entry per desired instance, sorted by id.
    public var instances: [InstanceStatus]
    /// The records to pass to the next reconcile, one per desired instance, sorted by id.
    public var records: [InstanceRecord]
    /// The earliest time something becomes due without any change in input (a restart delay
    /// ending, a restart window reopening); `nil` when nothing is pending.
    public var requeueAt: Timestamp?
    /// The `now` the plan was made for.
    public var now: Timestamp
    /// Containers out of discovery waiting for their shutdown delay before they are stopped,
    /// with when that began: pass it to the next reconcile.
    public var draining: [ContainerID: Timestamp] = [:]

    /// How long after `now` to reconcile again even if nothing changes.
    public var requeueAfter: Duration? {
        requeueAt.map { .milliseconds(max(0, $0.milliseconds(since: now))) }
    }

    /// Whether the plan does nothing.
    public var isEmpty: Bool { actions.isEmpty }

    /// This plan after the action for `instance`'s slot with `specHash` failed in the runtime: it is
    /// Failed with `message`, and its record counts the outage from `time`. The next
    /// reconcile retries it as its restart policy says (so the phase is not final: its
    /// `retryAt` is `time` until that reconcile dates the retry); nothing is ever reverted.
    public func recordingFailure(of instance: InstanceID, specHash: SpecHash, message: String, at time: Timestamp) -> NodePlan {
        var plan = self
        if let index = plan.records.firstIndex(where: { $0.id == instance && $0.specHash == specHash }) {
            plan.records[index].started = true
            plan.records[index].lastError = message
            if plan.records[index].downSince == nil { plan.records[index].downSince = time }
        }
        if let index = plan.instances.firstIndex(where: { $0.id == instance && $0.specHash == specHash }) {
            plan.instances[index].phase = .failed(reason: message, retryAt: time)
        }
        return plan
    }
}
