public import MNCore
public import MNReconcile

/// Service discovery: the instances nodes registered (``ServiceEntry``, in their reports),
/// with each node's address, for clients and `mnctl service …`.
///
/// An entry is served only while its node heartbeats (a node that died serves nothing,
/// whatever it last said) and while the node's assignment still asks for that instance with
/// that spec: the assignment gives its version and role, so a promotion or a rollback is
/// served as soon as the controller writes it, and an instance the controller retires leaves
/// discovery before its node even begins to stop it.
public struct ServiceCatalog: Sendable {
    /// One instance of a service, where to reach it and what it runs.
    public struct Instance: Hashable, Sendable, Encodable {
        public var service: String
        public var node: NodeID
        /// Its node's address.
        public var address: String
        /// The host port; `nil` when its port publishes none (reachable only where the container is).
        public var port: Int?
        public var tags: [String]
        public var deploymentKey: DeploymentKey
        public var deploymentID: DeploymentID
        public var deploymentVersion: Int
        public var deploymentRole: InstanceRole
        public var instance: InstanceID
        /// `passing` or `critical`.
        public var status: String

        enum CodingKeys: String, CodingKey {
            case service, node, address, port, tags, instance, status
            case deploymentKey = "deployment_key"
            case deploymentID = "deployment_id"
            case deploymentVersion = "deployment_version"
            case deploymentRole = "deployment_role"
        }
    }

    /// Every served instance of every service, sorted by service, node and instance.
    public var instances: [Instance]
    /// When the soonest heartbeat of a serving node expires: the catalog may change then
    /// without any announcement.
    public var nextExpiry: Timestamp?

    /// A catalog of `instances` (tests).
    public init(instances: [Instance], nextExpiry: Timestamp? = nil) {
        self.instances = instances
        self.nextExpiry = nextExpiry
    }

    /// The catalog the registry's `nodes`, their `reports` and their `assignments` make.
    public init(nodes: [NodeRegistry.Entry], reports: [NodeID: NodeReport], assignments: [NodeID: NodeAssignment]) {
        var instances: [Instance] = []
        var nextExpiry: Timestamp?
        for node in nodes where node.ready {
            guard let entries = reports[node.info.id]?.services, !entries.isEmpty else { continue }
            var assigned: [InstanceID: [NodeAssignment.Instance]] = [:]
            for instance in assignments[node.info.id]?.instances ?? [] { assigned[instance.id, default: []].append(instance) }
            for entry in entries {
                guard let held = assigned[entry.instance]?.first(where: { $0.specHash == entry.specHash }) else { continue }
                instances.append(
                    Instance(
                        service: entry.service, node: node.info.id, address: node.info.address, port: entry.hostPort, tags: entry.tags,
                        deploymentKey: entry.instance.key, deploymentID: DeploymentID(key: entry.instance.key, version: held.version),
                        deploymentVersion: held.version, deploymentRole: held.role, instance: entry.instance,
                        status: entry.passing ? "passing" : "critical"))
            }
            if let expires = node.expires { nextExpiry = min(nextExpiry ?? expires, expires) }
        }
        self.init(instances: instances.sorted { ($0.service, $0.node, $0.instance) < ($1.service, $1.node, $1.instance) }, nextExpiry: nextExpiry)
    }

    /// Reads the catalog: the registry, and the reports and assignments of the nodes that
    /// heartbeat (one `MGET` each).
    public static func read(from store: DeploymentStore) async throws -> ServiceCatalog {
        let nodes = try await NodeRegistry(redis: store.redis).entries().filter(\.ready)
        let ids = nodes.map(\.info.id)
        return ServiceCatalog(nodes: nodes, reports: try await store.reports(of: ids), assignments: try await store.assignments(of: ids))
    }

    /// The instances of `service` a client should use: passing primaries (with `allRoles`,
    /// canaries and candidates too, and failing ones), carrying every tag in `tags`.
    public func resolve(_ service: String, tags: [String] = [], allRoles: Bool = false) -> [Instance] {
        instances.filter { instance in
            instance.service == service && Set(tags).isSubset(of: instance.tags)
                && (allRoles || (instance.deploymentRole == .primary && instance.status == "passing"))
        }
    }

    /// ``resolve(_:tags:allRoles:)`` for `query`, with the index that names the answer.
    public func resolve(_ query: ServiceQuery) -> ServiceResolution {
        ServiceResolution(instances: resolve(query.service, tags: query.tags, allRoles: query.allRoles))
    }

    /// Each service's name with how many instances pass and how many are registered.
    public var services: [(name: String, passing: Int, registered: Int)] {
        Dictionary(grouping: instances, by: \.service).map { name, all in
            (name, all.filter { $0.status == "passing" && $0.deploymentRole == .primary }.count, all.count)
        }.sorted { $0.name < $1.name }
    }
}

/// What a client asks discovery: a service, the tags its instances must carry, and whether
/// canaries, candidates and failing instances count.
public struct ServiceQuery: Hashable, Sendable {
    public var service: String
    public var tags: [String]
    public var allRoles: Bool

    /// Creates a query.
    public init(service: String, tags: [String] = [], allRoles: Bool = false) {
        self.service = service
        self.tags = tags
        self.allRoles = allRoles
    }
}

/// A query's answer and its index: the same instances (every field) give the same index, so
/// a client passes the index it holds to ``ServiceCatalog/watch(_:in:after:timeout:)`` and is
/// answered when the set differs.
public struct ServiceResolution: Hashable, Sendable, Encodable {
    /// A digest of the instances (16 hex digits).
    public var index: String
    public var instances: [ServiceCatalog.Instance]

    /// The resolution of `instances`, with their index.
    public init(instances: [ServiceCatalog.Instance]) {
        self.instances = instances
        // Every field, one line per instance (a digest of this text, not of encoded JSON: an
        // encoder costs more than the rest of a resolve).
        var text = ""
        for instance in instances {
            text += "\(instance.service)\t\(instance.node)\t\(instance.address)\t\(instance.port ?? 0)\t\(instance.tags.joined(separator: ","))\t"
            text += "\(instance.deploymentID)\t\(instance.deploymentRole.rawValue)\t\(instance.instance)\t\(instance.status)\n"
        }
        index = String(SpecHash(of: Array(text.utf8)).rawValue.prefix(16))
    }
}
