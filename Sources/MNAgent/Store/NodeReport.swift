public import MNCore
public import MNReconcile

/// What an agent last saw and decided on its node, written after a pass whenever it changed
/// (the time of every pass is in ``StoreKeys/nodes``).
public struct NodeReport: Hashable, Sendable, Codable {
    public var node: NodeID
    /// When the pass that wrote it ran.
    public var at: Timestamp
    /// Every desired instance, with the container that serves it.
    public var instances: [InstanceStatus]
    /// The restart records the next pass continues from.
    public var records: [InstanceRecord]
    /// The services its running instances offer, for discovery.
    public var services: [ServiceEntry]
    /// Containers out of discovery, waiting for their shutdown delay before they are stopped.
    public var draining: [DrainingContainer]
    /// Containers whose stop failed in the pass (their instances no longer run here; the next
    /// pass tries again), sorted by container: still running until a stop succeeds.
    public var stopping: [DrainingContainer]
    /// What the status should say of some instances beyond their phase (an optional required
    /// service that does not pass), sorted by instance.
    public var notes: [InstanceNote]
    /// Containers of deployments the store does not know (its data was lost), left running and
    /// untouched, sorted by container.
    public var kept: [KeptContainer]

    /// A container the agent keeps although no deployment in the store asks for it.
    public struct KeptContainer: Hashable, Sendable, Codable {
        public var container: ContainerID
        /// The deployment its labels name.
        public var deployment: DeploymentKey
        /// The instance its labels name, if they name one.
        public var instance: InstanceID?

        /// Creates an entry.
        public init(container: ContainerID, deployment: DeploymentKey, instance: InstanceID?) {
            self.container = container
            self.deployment = deployment
            self.instance = instance
        }
    }

    /// A remark on one instance.
    public struct InstanceNote: Hashable, Sendable, Codable {
        public var instance: InstanceID
        public var note: String

        /// Creates a note.
        public init(instance: InstanceID, note: String) {
            self.instance = instance
            self.note = note
        }
    }

    /// A container on its way out: in its shutdown delay, or after a stop that failed.
    public struct DrainingContainer: Hashable, Sendable, Codable {
        public var container: ContainerID
        /// The instance its labels name, if they name one.
        public var instance: InstanceID?
        /// When its drain began (or its stop first failed).
        public var since: Timestamp

        /// Creates an entry.
        public init(container: ContainerID, instance: InstanceID?, since: Timestamp) {
            self.container = container
            self.instance = instance
            self.since = since
        }
    }

    /// Creates a report.
    public init(
        node: NodeID, at: Timestamp, instances: [InstanceStatus], records: [InstanceRecord], services: [ServiceEntry] = [],
        draining: [DrainingContainer] = [], notes: [InstanceNote] = [], kept: [KeptContainer] = [],
        stopping: [DrainingContainer] = []
    ) {
        self.stopping = stopping
        self.notes = notes
        self.kept = kept
        self.node = node
        self.at = at
        self.instances = instances
        self.records = records
        self.services = services
        self.draining = draining
    }

    enum CodingKeys: String, CodingKey { case node, at, instances, records, services, draining, notes, kept, stopping }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        node = try container.decode(NodeID.self, forKey: .node)
        at = try container.decode(Timestamp.self, forKey: .at)
        instances = try container.decode([InstanceStatus].self, forKey: .instances)
        records = try container.decode([InstanceRecord].self, forKey: .records)
        services = try container.decodeIfPresent([ServiceEntry].self, forKey: .services) ?? []
        draining = try container.decodeIfPresent([DrainingContainer].self, forKey: .draining) ?? []
        stopping = try container.decodeIfPresent([DrainingContainer].self, forKey: .stopping) ?? []
        notes = try container.decodeIfPresent([InstanceNote].self, forKey: .notes) ?? []
        kept = try container.decodeIfPresent([KeptContainer].self, forKey: .kept) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(at, forKey: .at)
        try container.encode(instances, forKey: .instances)
        try container.encode(records, forKey: .records)
        if !services.isEmpty { try container.encode(services, forKey: .services) }
        if !draining.isEmpty { try container.encode(draining, forKey: .draining) }
        if !stopping.isEmpty { try container.encode(stopping, forKey: .stopping) }
        if !notes.isEmpty { try container.encode(notes, forKey: .notes) }
        if !kept.isEmpty { try container.encode(kept, forKey: .kept) }
    }
}
