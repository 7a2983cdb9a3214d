import MNCore
import MNReconcile
import Testing

/// Builders for placement inputs.
enum PlacementFixture {
    static func node(
        _ id: String, cpu: Int = 4_000, memory: Int = 8_192, meta: [String: String] = [:], devices: [NodeDevice] = [],
        eligible: Bool = true, draining: Bool = false, os: String = "linux", hostname: String? = nil
    ) -> NodeInfo {
        NodeInfo(
            id: NodeID(id), os: os, hostname: hostname ?? "host-\(id)", meta: meta, capacity: NodeCapacity(cpuMillis: cpu, memoryMB: memory),
            devices: devices, eligible: eligible, draining: draining)
    }

    static func gpus(_ count: Int, driver: String = "cuda", memory: Int = 40_960) -> [NodeDevice] {
        (0..<count).map { NodeDevice(id: String($0), kind: "gpu", driver: driver, name: "A100", memoryMB: memory) }
    }

    static let v1 = SpecHash(String(repeating: "1", count: 64))
    static let v2 = SpecHash(String(repeating: "2", count: 64))

    /// Requests for instances 0..<count of `agent`.
    static func requests(
        _ agent: String, count: Int, key: String = "shop", spec: SpecHash = v1, resources: Resources = .none, ports: [HostPort] = [],
        constraints: [PlacementConstraint] = []
    ) -> [Placement.Request] {
        (0..<count).map { index in
            Placement.Request(
                instance: InstanceID(key: DeploymentKey(key), agent: AgentID(agent), index: index), specHash: spec, resources: resources,
                hostPorts: ports, constraints: constraints)
        }
    }

    /// Instances per node id, e.g. `["a": 2, "b": 2]`.
    static func spread(_ output: Placement.Output) -> [String: Int] {
        Dictionary(grouping: output.placed, by: \.node.rawValue).mapValues(\.count)
    }
}

@Suite("Placement: feasibility, spread, stickiness and reasons")
struct PlacementTests {
    typealias F = PlacementFixture

    @Test("a count-6 agent spreads 2/2/2 over three equal nodes")
    func spreadsEvenly() {
        let output = Placement.place(.init(nodes: [F.node("c"), F.node("a"), F.node("b")], requests: F.requests("web", count: 6)))
        #expect(output.unplaced.isEmpty)
        #expect(F.spread(output) == ["a": 2, "b": 2, "c": 2])
        // Instance order, node order: 0→a, 1→b, 2→c, 3→a …
        #expect(output.placed.map(\.node.rawValue) == ["a", "b", "c", "a", "b", "c"])
    }

    @Test("spread per agent, then the least loaded node: a second agent starts where there is most room")
    func leastLoaded() {
        let nodes = [F.node("a", memory: 8_192), F.node("b", memory: 16_384)]
        let big = F.requests("db", count: 1, resources: Resources(cpuMillis: nil, memoryMB: 4_096, devices: []))
        let output = Placement.place(.init(nodes: nodes, requests: big + F.requests("web", count: 1, resources: .init(cpuMillis: nil, memoryMB: 1_024, devices: []))))
        // db on b (25% used after, against 50% on a); web then on a (12.5%) rather than b (31%).
        #expect(output.placed.map { "\($0.instance.agent)@\($0.node)" } == ["db@b", "web@a"])
    }

    @Test("an unplaceable agent says why, node by node, and places nothing")
    func unplaceableSaysWhy() {
        let nodes = [
            F.node("a", memory: 65_536),
            F.node("b", devices: F.gpus(1), draining: true),
            F.node("c", memory: 15_360, devices: F.gpus(1)),
        ]
        let embed = F.requests(
            "embed", count: 1,
            resources: Resources(cpuMillis: nil, memoryMB: 16_000, devices: [DeviceRequest(kind: "gpu", driver: "cuda", minMemoryMB: 16_000)]))
        let output = Placement.place(.init(nodes: nodes, requests: embed))
        #expect(output.placed.isEmpty)
        #expect(
            output.unplaced.map(\.explanation) == [
                "no node fits agent \"embed\": a: no gpu with driver cuda and 16000 MB; b: draining; c: memory: 15360 MB free < 16000 MB"
            ])
        #expect(Placement.place(.init(nodes: [], requests: embed)).unplaced.map(\.explanation) == ["no node fits agent \"embed\": no node is registered"])
    }

    @Test("down and ineligible nodes take nothing", arguments: [
        (F.node("a", eligible: false), Set<NodeID>(), "a: not eligible"),
        (F.node("a"), Set([NodeID("a")]), "a: down"),
        (F.node("a", draining: true), Set<NodeID>(), "a: draining"),
    ])
    func unavailableNodes(node: NodeInfo, down: Set<NodeID>, reason: String) {
        let output = Placement.place(.init(nodes: [node], down: down, requests: F.requests("web", count: 1)))
        #expect(output.unplaced.map(\.explanation) == ["no node fits agent \"web\": \(reason)"])
    }

    @Test("constraints: =, !=, in, regexp and version ranges choose the nodes; a missing attribute meets none")
    func constraints() {
        let nodes = [
            F.node("a", meta: ["rack": "r1", "kernel": "6.1.0-18-amd64"], hostname: "gpu-1"),
            F.node("b", meta: ["rack": "r2", "kernel": "5.10.0"], hostname: "cpu-1"),
            F.node("c", hostname: "gpu-2"),
        ]
        func placedOn(_ constraint: PlacementConstraint) -> [String] {
            Placement.place(.init(nodes: nodes, requests: F.requests("web", count: 3, constraints: [constraint])))
                .placed.map(\.node.rawValue).sorted()
        }
        #expect(placedOn(PlacementConstraint(.meta("rack"), .equals("r1"))) == ["a", "a", "a"])
        #expect(placedOn(PlacementConstraint(.meta("rack"), .notEquals("r1"))) == ["b", "b", "b"])
        #expect(placedOn(PlacementConstraint(.meta("rack"), .oneOf(["r1", "r2"]))) == ["a", "a", "b"])
        #expect(placedOn(PlacementConstraint(.hostname, .matches("^gpu-"))) == ["a", "a", "c"])
        #expect(placedOn(PlacementConstraint(.meta("kernel"), .version(VersionRange(">= 6")!))) == ["a", "a", "a"])
        #expect(placedOn(PlacementConstraint(.nodeID, .equals("b"))) == ["b", "b", "b"])

        let none = Placement.place(
            .init(nodes: nodes, requests: F.requests("web", count: 1, constraints: [PlacementConstraint(.meta("rack"), .equals("r3"))])))
        #expect(
            none.unplaced.map(\.explanation) == [
                "no node fits agent \"web\": a: needs meta.rack = r3, has r1; b: needs meta.rack = r3, has r2; c: needs meta.rack = r3, has no meta.rack"
            ])
    }

    @Test("devices are handed out by id, never twice; a shortage counts what is free")
    func devices() {
        let gpu = Resources(cpuMillis: nil, memoryMB: nil, devices: [DeviceRequest(kind: "gpu", count: 2)])
        let output = Placement.place(.init(nodes: [F.node("a", devices: F.gpus(3))], requests: F.requests("train", count: 2, resources: gpu)))
        #expect(output.placed.map(\.devices) == [["0", "1"]])
        #expect(output.unplaced.map(\.explanation) == ["no node fits agent \"train\": a: 1 free gpu < 2"])
    }

    @Test("a host port goes to one instance per node")
    func ports() {
        let output = Placement.place(
            .init(nodes: [F.node("a"), F.node("b")], requests: F.requests("web", count: 3, ports: [HostPort(8080)])))
        #expect(output.placed.map(\.node.rawValue) == ["a", "b"])
        #expect(output.unplaced.map(\.explanation) == ["no node fits agent \"web\": a: port 8080/tcp in use; b: port 8080/tcp in use"])
    }

    @Test("CPU and memory already allocated by other deployments count")
    func allocationsCount() {
        let other = Placement.Allocation(
            instance: InstanceID(key: "other", agent: "db", index: 0), specHash: F.v1, node: "a", cpuMillis: 3_500, memoryMB: 1_024)
        let output = Placement.place(
            .init(
                nodes: [F.node("a")], allocations: [other],
                requests: F.requests("web", count: 1, resources: Resources(cpuMillis: 1_000, memoryMB: nil, devices: []))))
        #expect(output.unplaced.map(\.explanation) == ["no node fits agent \"web\": a: cpu: 500 millicores free < 1000"])
    }

    @Test("sticky: a running instance stays on its node when an emptier node joins, and while its node is down or unregistered")
    func sticky() {
        var requests = F.requests("web", count: 3)
        requests[0].current = .init(node: "a")
        requests[1].current = .init(node: "a")
        let nodes = [F.node("a"), F.node("b"), F.node("c")]
        #expect(F.spread(Placement.place(.init(nodes: nodes, requests: requests))) == ["a": 2, "b": 1])
        // Down: its instances stay (rescheduling decides when they move), the new one goes elsewhere.
        #expect(F.spread(Placement.place(.init(nodes: nodes, down: ["a"], requests: requests))) == ["a": 2, "b": 1])
        // Not registered (Redis lost the registry): the same.
        #expect(F.spread(Placement.place(.init(nodes: Array(nodes.dropFirst()), requests: requests))) == ["a": 2, "b": 1])
    }

    @Test("a rollout's new instance goes beside the old one that keeps running, when it fits there")
    func updateBeside() {
        var old = F.requests("web", count: 1, spec: F.v1, resources: Resources(cpuMillis: 1_000, memoryMB: nil, devices: []))[0]
        old.current = .init(node: "a")
        var new = F.requests("web", count: 1, spec: F.v2, resources: Resources(cpuMillis: 1_000, memoryMB: nil, devices: []))[0]
        new.replacing = F.v1
        // Spread alone would choose b (no instance of web there); the update stays beside the old one.
        let beside = Placement.place(.init(nodes: [F.node("a"), F.node("b")], requests: [old, new]))
        #expect(beside.placed.map { "\($0.specHash.short.prefix(1))@\($0.node)" } == ["1@a", "2@a"])
        // When both do not fit on a, the new one goes elsewhere (the old one's resources stay held).
        let full = Placement.place(.init(nodes: [F.node("a", cpu: 1_500), F.node("b")], requests: [old, new]))
        #expect(full.placed.map { "\($0.specHash.short.prefix(1))@\($0.node)" } == ["1@a", "2@b"])
    }

    @Test("requests from desired instances: running slots stay, a new slot replaces the one that runs, constraints combine")
    func requestsFromDesired() {
        let v1 = Manifest(key: "shop", agents: [AgentSpec(id: "web", count: 2, workload: .image("web:1"))])
        var spec2 = AgentSpec(id: "web", count: 2, workload: .image("web:2"), resources: Resources(cpuMillis: 500, memoryMB: 64, devices: []))
        spec2.constraints = [PlacementConstraint(.os, .equals("linux"))]
        let v2 = Manifest(key: "shop", agents: [spec2])
        let old = v1.desiredInstances(version: 1)
        let new = v2.desiredInstances(version: 2)
        // web/0 runs v1 on a (its v2 is being added); web/1 runs v1 on b and stays v1 for now.
        let desired = [old[0], new[0], old[1]]
        let rack = PlacementConstraint(.meta("rack"), .equals("r1"))
        let requests = Placement.requests(
            for: desired, constraints: [DeploymentID(key: "shop", version: 1): [rack], DeploymentID(key: "shop", version: 2): [rack]],
            current: [old[0].slot: .init(node: "a"), old[1].slot: .init(node: "b")])
        #expect(requests.map(\.current?.node) == ["a", nil, "b"])
        #expect(requests.map(\.replacing) == [nil, old[0].specHash, nil])
        #expect(requests[1].resources.cpuMillis == 500 && requests[1].constraints == [rack, PlacementConstraint(.os, .equals("linux"))])

        let nodes = [F.node("a", meta: ["rack": "r1"]), F.node("b", meta: ["rack": "r1"]), F.node("c", meta: ["rack": "r1"])]
        let placed = Placement.place(.init(nodes: nodes, requests: requests))
        #expect(placed.placed.first { $0.specHash == new[0].specHash }?.node == "a", "the new slot goes beside the one it replaces")
    }

    @Test("an update replaces in place: the new spec takes the old instance's node and its resources")
    func updateInPlace() {
        // Node a is full with the old instance; b is empty. The new one still goes on a.
        let old = Placement.Allocation(
            instance: InstanceID(key: "shop", agent: "web", index: 0), specHash: F.v1, node: "a", cpuMillis: 4_000, memoryMB: 0,
            hostPorts: [HostPort(8080)])
        var request = F.requests("web", count: 1, spec: F.v2, resources: Resources(cpuMillis: 4_000, memoryMB: nil, devices: []), ports: [HostPort(8080)])[0]
        request.replacing = F.v1
        let output = Placement.place(.init(nodes: [F.node("a"), F.node("b")], allocations: [old], requests: [request]))
        #expect(output.placed.map(\.node) == ["a"])
        // Without `replacing`, a is full: it goes to b beside the old one (start before stop).
        request.replacing = nil
        #expect(Placement.place(.init(nodes: [F.node("a"), F.node("b")], allocations: [old], requests: [request])).placed.map(\.node) == ["b"])
    }
}
