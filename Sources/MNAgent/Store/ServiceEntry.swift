public import MNCore
public import MNReconcile

/// One running instance offering one service, as its node registers it (in its report) for
/// discovery: which service, which instance of which spec, the port it is reached at, and
/// whether it passes its checks. Its version and role are not here: discovery takes them from
/// the node's assignment (``ServiceCatalog``), so a promotion or rollback the controller
/// writes is served at once, and never from a container label (a promoted candidate keeps its
/// `mn.role=candidate` label).
public struct ServiceEntry: Hashable, Sendable, Codable {
    public var service: String
    public var instance: InstanceID
    /// The spec its container runs: served only while the node's assignment still asks for it.
    public var specHash: SpecHash
    public var container: ContainerID
    /// The host port other hosts reach it at (a dynamic one as the node picked it); `nil` when
    /// the port publishes none.
    public var hostPort: Int?
    public var containerPort: Int
    public var tags: [String]
    /// Running and not failing a check.
    public var passing: Bool

    enum CodingKeys: String, CodingKey {
        case service, instance, container, tags, passing
        case specHash = "spec_hash"
        case hostPort = "host_port"
        case containerPort = "container_port"
    }

    /// The entries of the running instances among `statuses` whose specs (in `desired`)
    /// offer services, sorted by service and instance.
    public static func entries(of statuses: [InstanceStatus], desired: [DesiredInstance]) -> [ServiceEntry] {
        var bySlot: [InstanceSlot: DesiredInstance] = [:]
        for instance in desired where !instance.spec.services.isEmpty { bySlot[instance.slot] = instance }
        guard !bySlot.isEmpty else { return [] }
        var entries: [ServiceEntry] = []
        for status in statuses where status.phase == .running {
            guard let instance = bySlot[status.slot], let container = status.container else { continue }
            let passing = RolloutPlanner.isHealthy(status, signal: .checks)
            for service in instance.spec.services {
                guard let port = instance.spec.ports.first(where: { $0.name == service.port }) else { continue }
                entries.append(
                    ServiceEntry(
                        service: service.name, instance: instance.id, specHash: status.specHash, container: container,
                        hostPort: status.ports.hostPort(of: port), containerPort: port.containerPort, tags: service.tags, passing: passing))
            }
        }
        return entries.sorted { ($0.service, $0.instance) < ($1.service, $1.instance) }
    }
}
