public import MNCore
public import MNReconcile

/// Service discovery: the instances nodes registered (``ServiceEntry``, in their reports),
/// with each node's address, for clients and `mnctl service …`.
///
/// Only nodes that heartbeat are read: a node that died serves nothing, whatever it last said.
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

    /// Every registered instance of every service, on nodes that heartbeat, sorted by service,
    /// node and instance.
    public var instances: [Instance]

    /// Reads the catalog: the registry and the reports of the nodes that heartbeat.
    public static func read(from store: DeploymentStore) async throws -> ServiceCatalog {
        let nodes = try await NodeRegistry(redis: store.redis).entries().filter(\.ready)
        let reports = try await store.reports(of: nodes.map(\.info.id))
        var instances: [Instance] = []
        for node in nodes {
            for entry in reports[node.info.id]?.services ?? [] {
                instances.append(
                    Instance(
                        service: entry.service, node: node.info.id, address: node.info.address, port: entry.hostPort, tags: entry.tags,
                        deploymentKey: entry.instance.key, deploymentID: DeploymentID(key: entry.instance.key, version: entry.version),
                        deploymentVersion: entry.version, deploymentRole: entry.role, instance: entry.instance,
                        status: entry.passing ? "passing" : "critical"))
            }
        }
        return ServiceCatalog(instances: instances.sorted { ($0.service, $0.node, $0.instance) < ($1.service, $1.node, $1.instance) })
    }

    /// The instances of `service` a client should use: passing primaries (with `allRoles`,
    /// canaries and candidates too, and failing ones), carrying every tag in `tags`.
    public func resolve(_ service: String, tags: [String] = [], allRoles: Bool = false) -> [Instance] {
        instances.filter { instance in
            instance.service == service && Set(tags).isSubset(of: instance.tags)
                && (allRoles || (instance.deploymentRole == .primary && instance.status == "passing"))
        }
    }

    /// Each service's name with how many instances pass and how many are registered.
    public var services: [(name: String, passing: Int, registered: Int)] {
        Dictionary(grouping: instances, by: \.service).map { name, all in
            (name, all.filter { $0.status == "passing" && $0.deploymentRole == .primary }.count, all.count)
        }.sorted { $0.name < $1.name }
    }
}
