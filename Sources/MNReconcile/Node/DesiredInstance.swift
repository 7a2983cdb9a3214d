public import MNCore

/// One instance that should run on this node: the input side of the node reconciler.
public struct DesiredInstance: Hashable, Sendable, Encodable {
    public var id: InstanceID
    /// The deployment version it belongs to.
    public var version: Int
    public var role: InstanceRole
    /// What it runs; `spec.lifecycle` says how it is stopped.
    ///
    /// Held by reference and shared by the instances of one agent, so an instance is cheap to
    /// copy (planning a fleet copies many); setting it gives this instance a spec of its own.
    public var spec: AgentSpec {
        get { shared.value }
        set { shared = Shared(newValue) }
    }
    private var shared: Shared<AgentSpec>
    /// ``Manifest/instanceHash(of:)`` of `spec`, the one thing compared to decide a replace.
    public var specHash: SpecHash
    public var restart: RestartPolicy
    public var jobType: Manifest.JobType
    /// The ids of the node's devices the controller gave it (for `MN_DEVICE_IDS`), sorted.
    public var devices: [String]
    /// Its version's payload files, mounted read-only at ``MNCore/Payload/mountPath`` (their
    /// digest is part of `specHash`).
    public var payloads: [Payload] = []

    /// Describes instance `index` of `spec`; without a `specHash`, the spec's own
    /// ``AgentSpec/specHash`` is used.
    public init(
        key: DeploymentKey, spec: AgentSpec, index: Int, version: Int, role: InstanceRole = .primary,
        restart: RestartPolicy = .defaults, jobType: Manifest.JobType = .service, specHash: SpecHash? = nil, devices: [String] = []
    ) {
        self.init(
            key: key, shared: Shared(spec), index: index, version: version, role: role, restart: restart, jobType: jobType,
            specHash: specHash ?? spec.specHash, devices: devices)
    }

    /// Instance `index` of a spec shared with the agent's other instances.
    init(
        key: DeploymentKey, shared: Shared<AgentSpec>, index: Int, version: Int, role: InstanceRole, restart: RestartPolicy,
        jobType: Manifest.JobType, specHash: SpecHash, devices: [String] = []
    ) {
        self.id = InstanceID(key: key, agent: shared.value.id, index: index)
        self.version = version
        self.role = role
        self.shared = shared
        self.specHash = specHash
        self.restart = restart
        self.jobType = jobType
        self.devices = devices
    }

    enum CodingKeys: String, CodingKey {
        case id, version, role, restart
        case specHash = "spec_hash"
        case jobType = "job_type"
        case agent
    }

    /// Encodes identity and policy but not the spec itself, whose env may hold secrets.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(version, forKey: .version)
        try container.encode(role, forKey: .role)
        try container.encode(specHash, forKey: .specHash)
        try container.encode(restart, forKey: .restart)
        try container.encode(jobType, forKey: .jobType)
    }
}

extension Manifest {
    /// Every instance of version `version` of this manifest, all on one node, as primaries.
    /// For a batch run, `run` makes the instances (and their containers) that run's own: a rerun
    /// of the same version starts fresh containers.
    ///
    /// Placement across nodes belongs to the rollout level; this is the single-node view.
    /// `perAgent` replaces each agent's `count` (a system job's: one per node).
    public func desiredInstances(version: Int, role: InstanceRole = .primary, run: Int? = nil, perAgent: Int? = nil) -> [DesiredInstance] {
        agents.flatMap { agent in
            var hash = instanceHash(of: agent)
            if let run { hash = SpecHash(of: Array("\(hash.rawValue)\nrun \(run)".utf8)) }
            let shared = Shared(agent)
            return (0..<(perAgent ?? agent.count)).map { index in
                var instance = DesiredInstance(
                    key: key, shared: shared, index: index, version: version, role: role,
                    restart: policies.restart, jobType: type, specHash: hash)
                instance.payloads = payloads
                return instance
            }
        }
    }
}
