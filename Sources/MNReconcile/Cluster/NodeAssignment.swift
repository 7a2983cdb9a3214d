public import MNCore

/// What the controller tells one node: the instances it should run (each a slot of a
/// deployment version, with the devices it was given), which of them are frozen, and which
/// versions it should check before they start anywhere. Written by the controller only, read
/// by that node's agent only.
public struct NodeAssignment: Hashable, Sendable, Codable {
    /// One instance the node should run.
    public struct Instance: Hashable, Sendable, Codable, Comparable {
        public var id: InstanceID
        public var version: Int
        public var role: InstanceRole
        /// The slot's spec hash (a batch run's instances carry their run in it).
        public var specHash: SpecHash
        /// The ids of the node's devices it is given, sorted.
        public var devices: [String]

        /// Creates an assigned instance.
        public init(id: InstanceID, version: Int, role: InstanceRole, specHash: SpecHash, devices: [String] = []) {
            self.id = id
            self.version = version
            self.role = role
            self.specHash = specHash
            self.devices = devices
        }

        enum CodingKeys: String, CodingKey {
            case id, version, role, devices
            case specHash = "spec_hash"
        }

        public static func < (a: Self, b: Self) -> Bool { (a.id, a.specHash) < (b.id, b.specHash) }
    }

    /// A version the node checks (``Preflight``) before anything of it starts: images present,
    /// host ports free. The verdict goes back to the controller.
    public struct Check: Hashable, Sendable, Codable, Comparable {
        public var key: DeploymentKey
        public var version: Int
        /// The version it updates from, if any (its host ports may be held by its own containers).
        public var stable: Int?

        /// Creates a check.
        public init(key: DeploymentKey, version: Int, stable: Int?) {
            self.key = key
            self.version = version
            self.stable = stable
        }

        public static func < (a: Self, b: Self) -> Bool { (a.key, a.version) < (b.key, b.version) }
    }

    /// Sorted by instance and spec hash.
    public var instances: [Instance]
    /// Deployments whose instances here are reported but never acted on (paused, or an update failed), sorted.
    public var frozen: [DeploymentKey]
    /// Versions to check on this node, sorted.
    public var checks: [Check]
    /// The ``MNCore/Deployment/origin`` of each deployment whose versions it names: a node
    /// never takes versions it read before the store lost its data for the new ones of the
    /// same numbers.
    public var origins: [DeploymentKey: String]

    /// Creates an assignment (sorting what it is given).
    public init(instances: [Instance] = [], frozen: [DeploymentKey] = [], checks: [Check] = [], origins: [DeploymentKey: String] = [:]) {
        self.instances = instances.sorted()
        self.frozen = Array(Set(frozen)).sorted()
        self.checks = checks.sorted()
        self.origins = origins
    }

    enum CodingKeys: String, CodingKey { case instances, frozen, checks, origins }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        instances = try container.decode([Instance].self, forKey: .instances)
        frozen = try container.decode([DeploymentKey].self, forKey: .frozen)
        checks = try container.decode([Check].self, forKey: .checks)
        // Written before assignments named origins: none known.
        let origins = try container.decodeIfPresent([String: String].self, forKey: .origins) ?? [:]
        self.origins = Dictionary(uniqueKeysWithValues: origins.map { (DeploymentKey($0.key), $0.value) })
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(instances, forKey: .instances)
        try container.encode(frozen, forKey: .frozen)
        try container.encode(checks, forKey: .checks)
        if !origins.isEmpty {
            try container.encode(Dictionary(uniqueKeysWithValues: origins.map { ($0.key.rawValue, $0.value) }), forKey: .origins)
        }
    }

    /// Nothing to run, nothing to check.
    public var isEmpty: Bool { instances.isEmpty && checks.isEmpty }

    /// The deployment versions it names, by deployment, for reading their manifests.
    public var versions: [DeploymentKey: Set<Int>] {
        var result: [DeploymentKey: Set<Int>] = [:]
        for instance in instances { result[instance.id.key, default: []].insert(instance.version) }
        for check in checks {
            result[check.key, default: []].insert(check.version)
            if let stable = check.stable { result[check.key, default: []].insert(stable) }
        }
        return result
    }

    /// The desired instances it describes, given the manifests of ``versions``; an instance
    /// whose version or agent is missing is left out and named in `missing`.
    public func desiredInstances(manifests: [DeploymentID: Manifest]) -> (instances: [DesiredInstance], missing: [InstanceID]) {
        var shared: [DeploymentID: [AgentID: Shared<AgentSpec>]] = [:]
        var result: [DesiredInstance] = []
        var missing: [InstanceID] = []
        result.reserveCapacity(instances.count)
        for instance in instances {
            let version = DeploymentID(key: instance.id.key, version: instance.version)
            guard let manifest = manifests[version] else {
                missing.append(instance.id)
                continue
            }
            if shared[version] == nil {
                shared[version] = Dictionary(manifest.agents.map { ($0.id, Shared($0)) }, uniquingKeysWith: { a, _ in a })
            }
            guard let spec = shared[version]?[instance.id.agent] else {
                missing.append(instance.id)
                continue
            }
            var desired = DesiredInstance(
                key: instance.id.key, shared: spec, index: instance.id.index, version: instance.version, role: instance.role,
                restart: manifest.policies.restart, jobType: manifest.type, specHash: instance.specHash, devices: instance.devices)
            desired.payloads = manifest.payloads
            result.append(desired)
        }
        return (result, missing)
    }
}

/// A node's verdict on a version it was asked to check (``NodeAssignment/Check``).
public struct ValidationVerdict: Hashable, Sendable, Codable {
    public var version: Int
    /// Every problem found; empty: it passed.
    public var problems: [String]

    /// Creates a verdict.
    public init(version: Int, problems: [String]) {
        self.version = version
        self.problems = problems
    }
}
