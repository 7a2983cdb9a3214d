@testable import MNAgent
import MNCore
import MNReconcile
import Testing

@Suite("Service registration and discovery (pure parts)")
struct ServiceEntryTests {
    static let spec = AgentSpec(
        id: "web", count: 2, workload: .image("web:1"), ports: [PortMapping(name: "http", containerPort: 80)],
        services: [ServiceSpec(name: "shop", port: "http", tags: ["v1"])])

    @Test("a running instance of an agent that offers a service is registered with its spec and the host port its container got")
    func entries() {
        let first = DesiredInstance(key: "shop", spec: Self.spec, index: 0, version: 1)
        var second = DesiredInstance(key: "shop", spec: Self.spec, index: 1, version: 2, role: .canary)
        second.specHash = "other"
        let statuses = [
            InstanceStatus(
                id: first.id, version: 1, specHash: first.specHash, phase: .running, container: "c1", health: .healthy,
                ports: [PublishedPort(containerPort: 80, hostPort: 41_001)]),
            InstanceStatus(id: second.id, version: 2, specHash: second.specHash, phase: .running, container: "c2", health: .unhealthy),
            InstanceStatus(id: InstanceID(key: "shop", agent: "web", index: 9), version: 1, specHash: first.specHash, phase: .pending),
        ]
        let entries = ServiceEntry.entries(of: statuses, desired: [first, second])
        #expect(entries.map { "\($0.instance) \($0.specHash == first.specHash) \($0.hostPort ?? 0) \($0.passing)" } == [
            "shop/web/0 true 41001 true", "shop/web/1 false 0 false",
        ])
    }

    /// A node `id` that is ready (or down) and reports `entries`.
    func node(_ id: NodeID, ready: Bool = true, expires: Int64 = 5_000) -> NodeRegistry.Entry {
        NodeRegistry.Entry(
            info: NodeInfo(id: id, address: "10.0.0.\(id.rawValue.count)", capacity: NodeCapacity(cpuMillis: 1_000, memoryMB: 1_024)),
            ready: ready,
            expires: Timestamp(milliseconds: expires))
    }

    func entry(_ index: Int, spec: SpecHash = "s1", passing: Bool = true) -> ServiceEntry {
        ServiceEntry(
            service: "shop", instance: InstanceID(key: "shop", agent: "web", index: index), specHash: spec, container: ContainerID("c\(index)"),
            hostPort: 41_000 + index, containerPort: 80, tags: ["v1"], passing: passing)
    }

    func assigned(_ index: Int, version: Int = 1, role: InstanceRole = .primary, spec: SpecHash = "s1") -> NodeAssignment.Instance {
        NodeAssignment.Instance(id: InstanceID(key: "shop", agent: "web", index: index), version: version, role: role, specHash: spec)
    }

    @Test("roles and versions come from the assignment; an entry the assignment no longer asks for, or of a down node, is not served")
    func catalogFromAssignments() {
        let reports = [
            NodeID("a"): NodeReport(node: "a", at: .init(milliseconds: 0), instances: [], records: [], services: [entry(0), entry(1), entry(2)]),
            NodeID("bb"): NodeReport(node: "bb", at: .init(milliseconds: 0), instances: [], records: [], services: [entry(3)]),
        ]
        let assignments = [
            NodeID("a"): NodeAssignment(instances: [assigned(0, version: 3), assigned(1, version: 4, role: .canary), assigned(2, spec: "s2")]),
            NodeID("bb"): NodeAssignment(instances: [assigned(3)]),
        ]
        let catalog = ServiceCatalog(nodes: [node("a", expires: 9_000), node("bb", ready: false)], reports: reports, assignments: assignments)
        #expect(catalog.instances.map { "\($0.instance.index) v\($0.deploymentVersion) \($0.deploymentRole) \($0.address):\($0.port ?? 0)" } == [
            "0 v3 primary 10.0.0.1:41000", "1 v4 canary 10.0.0.1:41001",
        ])
        #expect(catalog.nextExpiry == Timestamp(milliseconds: 9_000))
        // A role flip written by the controller is served at once, before any report.
        let flipped = ServiceCatalog(
            nodes: [node("a")], reports: reports,
            assignments: ["a": NodeAssignment(instances: [assigned(0, version: 5, role: .candidate), assigned(1, version: 5)])])
        #expect(flipped.resolve("shop").map(\.instance.index) == [1])
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
        // The index names the answer: equal answers, equal indices; any difference, another.
        let all = catalog.resolve(ServiceQuery(service: "shop", allRoles: true))
        #expect(all.index == catalog.resolve(ServiceQuery(service: "shop", allRoles: true)).index)
        #expect(all.index != catalog.resolve(ServiceQuery(service: "shop")).index && all.index.count == 16)
    }
}
