@testable import MNAgent
import MNCore
import MNReconcile
import Testing

@Suite("Service registration and discovery (pure parts)")
struct ServiceEntryTests {
    static let spec = AgentSpec(
        id: "web", count: 2, workload: .image("web:1"), ports: [PortMapping(name: "http", containerPort: 80, hostPort: 18080)],
        services: [ServiceSpec(name: "shop", port: "http", tags: ["v1"])])

    @Test("a running instance of an agent that offers a service is registered with its role and host port; others are not")
    func entries() {
        var primary = DesiredInstance(key: "shop", spec: Self.spec, index: 0, version: 1)
        primary.role = .primary
        var canary = DesiredInstance(key: "shop", spec: Self.spec, index: 1, version: 2, role: .canary)
        canary.specHash = "other"
        let statuses = [
            InstanceStatus(id: primary.id, version: 1, specHash: primary.specHash, phase: .running, container: "c1", health: .healthy),
            InstanceStatus(id: canary.id, version: 2, specHash: canary.specHash, phase: .running, container: "c2", health: .unhealthy),
            InstanceStatus(id: InstanceID(key: "shop", agent: "web", index: 9), version: 1, specHash: primary.specHash, phase: .pending),
        ]
        let entries = ServiceEntry.entries(of: statuses, desired: [primary, canary])
        #expect(entries.map { "\($0.instance) \($0.role) \($0.hostPort ?? 0) \($0.passing)" } == ["shop/web/0 primary 18080 true", "shop/web/1 canary 18080 false"])
    }

    @Test("resolve returns passing primaries with every tag asked; --all-roles adds canaries, candidates and failing ones")
    func resolve() {
        func instance(_ index: Int, _ role: InstanceRole, _ status: String, tags: [String] = ["v1"]) -> ServiceCatalog.Instance {
            .init(
                service: "shop", node: "a", address: "10.0.0.1", port: 18080 + index, tags: tags, deploymentKey: "shop",
                deploymentID: DeploymentID(key: "shop", version: 1), deploymentVersion: 1, deploymentRole: role,
                instance: InstanceID(key: "shop", agent: "web", index: index), status: status)
        }
        let catalog = ServiceCatalog(instances: [
            instance(0, .primary, "passing"), instance(1, .primary, "critical"), instance(2, .canary, "passing"),
            instance(3, .candidate, "passing"), instance(4, .primary, "passing", tags: ["v2"]),
        ])
        #expect(catalog.resolve("shop").map(\.instance.index) == [0, 4])
        #expect(catalog.resolve("shop", tags: ["v1"]).map(\.instance.index) == [0])
        #expect(catalog.resolve("shop", allRoles: true).map(\.instance.index) == [0, 1, 2, 3, 4])
        #expect(catalog.resolve("other").isEmpty)
        #expect(catalog.services.map { "\($0.name) \($0.passing)/\($0.registered)" } == ["shop 2/5"])
    }
}
