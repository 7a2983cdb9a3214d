import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Cluster reconciler: validation on the nodes, placement, fleet-wide rollouts")
struct ClusterReconcilerTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)

    static func node(_ id: String, rack: String = "r1") -> NodeInfo {
        NodeInfo(id: NodeID(id), hostname: id, meta: ["rack": rack], capacity: NodeCapacity(cpuMillis: 4_000, memoryMB: 8_192))
    }

    static let three = [node("a"), node("b"), node("c")]

    static func manifest(
        _ image: String, count: Int = 6, maxParallel: Int = 1, autoRevert: Bool = false, constraints: [PlacementConstraint] = []
    ) -> Manifest {
        var policies = Policies.defaults
        policies.update.maxParallel = maxParallel
        policies.update.minHealthyMs = 0
        policies.update.autoRevert = autoRevert
        return Manifest(
            key: "web", agents: [AgentSpec(id: "web", count: count, workload: .image(image))], constraints: constraints, policies: policies)
    }

    /// `web:1` applied to three nodes and settled (checked, placed, running).
    static func settled(_ manifest: Manifest = manifest("web:1")) -> SimulatedCluster {
        var cluster = SimulatedCluster(nodes: three, now: t0)
        cluster.apply(manifest)
        for _ in 0..<4 { cluster.step() }
        return cluster
    }

    @Test("a new version is checked on every node it would run on before anything of it starts; then it spreads 2/2/2")
    func validatesThenSpreads() {
        var cluster = SimulatedCluster(nodes: Self.three, now: Self.t0)
        cluster.apply(Self.manifest("web:1"))
        let first = cluster.controllerPass()
        #expect(cluster.deployments["web"]?.status == .validating)
        #expect(first.assignments.keys.sorted() == ["a", "b", "c"])
        #expect(first.assignments.values.allSatisfy { $0.instances.isEmpty && $0.checks == [.init(key: "web", version: 1, stable: nil)] })

        cluster.nodePasses()
        cluster.controllerPass()
        let record = cluster.deployments["web"]
        #expect(record?.status == .deploying)
        #expect(record?.events.last?.message == "validation passed on nodes a, b, c")
        #expect(cluster.assignments.mapValues(\.instances.count) == ["a": 2, "b": 2, "c": 2])
        #expect(cluster.assignments.values.allSatisfy { $0.checks.isEmpty })

        cluster.nodePasses()
        cluster.controllerPass()
        #expect(cluster.deployments["web"]?.status == .running)
        #expect(cluster.spread == ["a": 2, "b": 2, "c": 2])
    }

    @Test("a problem on one node fails the version in Validating, naming the node; nothing of it starts and the old keeps running")
    func validationFailsOnOneNode() {
        var cluster = Self.settled()
        let before = cluster.running.map { "\($0.node) \($0.slot)" }
        cluster.problems["b"] = ["image 'web:2' is not on node b"]
        cluster.apply(Self.manifest("web:2"))
        for _ in 0..<3 { cluster.step() }
        let record = cluster.deployments["web"]
        #expect(record?.status == .failed && record?.failure?.phase == .validating)
        #expect(record?.failure?.reason == "image 'web:2' is not on node b")
        #expect(record?.events.contains { $0.message == "validation failed on node b: image 'web:2' is not on node b" } == true)
        #expect(cluster.running.map { "\($0.node) \($0.slot)" } == before, "something of v2 started, or v1 moved")
    }

    @Test("a rolling update steps across the three nodes with max_parallel 1 and ends with exactly v2, each new instance beside its old one")
    func rollingAcrossNodes() {
        var cluster = Self.settled()
        let v1Nodes = Dictionary(cluster.running.map { ($0.slot.instance, $0.node) }, uniquingKeysWith: { a, _ in a })
        let v2 = Self.manifest("web:2")
        let v2Hash = v2.instanceHash(of: v2.agents[0])
        cluster.apply(v2)
        var steps = 0
        while cluster.deployments["web"]?.status != .running && steps < 100 {
            cluster.step()
            steps += 1
            let extra = cluster.running.count - 6
            #expect(extra <= 1, "more than max_parallel new instances beside the old: \(cluster.running.count)")
            #expect(cluster.running.count >= 6, "fewer than count running")
        }
        #expect(cluster.deployments["web"]?.status == .running && cluster.deployments["web"]?.rollbackTarget == 2)
        #expect(cluster.running.count == 6 && cluster.running.allSatisfy { $0.slot.specHash == v2Hash })
        for (node, slot) in cluster.running { #expect(v1Nodes[slot.instance] == node, "instance \(slot.instance) moved") }
    }

    @Test("an unplaceable version waits in Validating, saying why per node, checks nothing and starts nothing; it goes on once a node fits")
    func unplaceable() {
        var cluster = Self.settled()
        let rack = PlacementConstraint(.meta("rack"), .equals("r9"))
        cluster.apply(Self.manifest("web:2", constraints: [rack]))
        for _ in 0..<3 { cluster.step() }
        let record = cluster.deployments["web"]
        #expect(record?.status == .validating)
        #expect(record?.unplaced == "no node fits agent \"web\": a: needs meta.rack = r9, has r1; b: needs meta.rack = r9, has r1; c: needs meta.rack = r9, has r1")
        #expect(cluster.assignments.values.allSatisfy { $0.checks.isEmpty })
        let v1 = Self.manifest("web:1")
        #expect(cluster.running.count == 6 && cluster.running.allSatisfy { $0.slot.specHash == v1.instanceHash(of: v1.agents[0]) })

        cluster.nodes.append(Self.node("d", rack: "r9"))
        for _ in 0..<40 { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .running && cluster.deployments["web"]?.unplaced == nil)
        #expect(cluster.spread == ["d": 6])
    }

    @Test("a pin is the constraint node.id = N: everything goes there and only that node checks")
    func pinned() {
        var cluster = SimulatedCluster(nodes: Self.three, now: Self.t0)
        cluster.apply(Self.manifest("web:1", count: 3), pin: "b")
        let first = cluster.controllerPass()
        #expect(first.assignments.keys.sorted() == ["b"], "nodes with nothing to run or check get no assignment")
        for _ in 0..<4 { cluster.step() }
        #expect(cluster.spread == ["b": 3])
        #expect(cluster.deployments["web"]?.status == .running)
    }

    @Test("an update is checked on the node where it will start: beside its old instance, not on the emptiest node")
    func checksWhereItWillRun() {
        var cluster = SimulatedCluster(nodes: Self.three, now: Self.t0)
        cluster.apply(Self.manifest("web:1", count: 1), pin: "c")
        for _ in 0..<4 { cluster.step() }
        #expect(cluster.spread == ["c": 1])
        cluster.apply(Self.manifest("web:2", count: 1))  // the pin goes too
        cluster.controllerPass()
        #expect(cluster.assignments.filter { !$0.value.checks.isEmpty }.keys.sorted() == ["c"])
        for _ in 0..<6 { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .running && cluster.spread == ["c": 1])
    }

    @Test("an update that publishes the same host port is checked on, and replaces in place on, the node of its old instance")
    func hostPortUpdateInPlace() {
        func web(_ image: String) -> Manifest {
            var manifest = Self.manifest(image, count: 1)
            manifest.agents[0].ports = [PortMapping(name: "http", containerPort: 8080, hostPort: 18080)]
            return manifest
        }
        var cluster = SimulatedCluster(nodes: [Self.node("a")], now: Self.t0)
        cluster.apply(web("web:1"))
        for _ in 0..<4 { cluster.step() }
        cluster.apply(web("web:2"))
        cluster.controllerPass()
        #expect(cluster.deployments["web"]?.unplaced == nil, "the old instance's port blocked its own update")
        #expect(cluster.assignments["a"]?.checks.map(\.version) == [2])
        for _ in 0..<10 where cluster.deployments["web"]?.status != .running { cluster.step() }
        let v2 = web("web:2")
        #expect(cluster.deployments["web"]?.status == .running && cluster.running.map(\.slot.specHash) == [v2.instanceHash(of: v2.agents[0])])
    }

    @Test("a node that is down is not asked to check: the others do; pinned to a down node, the status says why it waits")
    func downNodeIsNotAsked() {
        var cluster = Self.settled()
        cluster.cut("c")
        cluster.apply(Self.manifest("web:2"))
        cluster.controllerPass()
        #expect(cluster.assignments.filter { !$0.value.checks.isEmpty }.keys.sorted() == ["a", "b"])

        var pinned = SimulatedCluster(nodes: Self.three, now: Self.t0)
        pinned.apply(Self.manifest("web:1", count: 1), pin: "c")
        for _ in 0..<4 { pinned.step() }
        pinned.cut("c")
        pinned.apply(Self.manifest("web:2", count: 1), pin: "c")
        for _ in 0..<3 { pinned.step() }
        #expect(pinned.deployments["web"]?.status == .validating)
        #expect(pinned.deployments["web"]?.unplaced == "no node fits agent \"web\": a: needs node.id = c, has a; b: needs node.id = c, has b; c: down")
        #expect(pinned.spread == ["c": 1], "the old version stopped")
    }

    @Test("a rolling update finishes while a node is down: what that node was told to drop no longer counts as running")
    func downNodeDoesNotBlockTheRollout() {
        var cluster = Self.settled()
        cluster.cut("c")
        let v2 = Self.manifest("web:2")
        cluster.apply(v2)
        for _ in 0..<60 where cluster.deployments["web"]?.status != .running { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .running && cluster.deployments["web"]?.rollbackTarget == 2)
        #expect(cluster.assignments["c"]?.instances.isEmpty == true, "the down node still holds instances of the update")
        #expect(cluster.assignments.values.flatMap(\.instances).count == 6)
    }

    @Test("a new pin moves what runs: a running instance whose node no longer meets its constraints is placed again")
    func repinMoves() {
        var cluster = SimulatedCluster(nodes: Self.three, now: Self.t0)
        cluster.apply(Self.manifest("web:1", count: 2), pin: "a")
        for _ in 0..<4 { cluster.step() }
        #expect(cluster.spread == ["a": 2])
        cluster.deployments["web"]?.node = "b"
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.spread == ["b": 2])
    }

    @Test("a paused deployment's instances are assigned frozen; a wiped store assigns nothing; a removed deployment empties its nodes")
    func frozenAndEmpty() {
        var cluster = Self.settled()
        cluster.deployments["web"]?.status = .paused
        cluster.nodes.append(Self.node("d"))
        cluster.assignments["d"] = NodeAssignment(checks: [.init(key: "other", version: 1, stable: nil)])
        cluster.controllerPass()
        #expect(cluster.assignments.values.allSatisfy { $0.frozen == ["web"] }, "every node must know: it may hold a container of it")

        var wiped = SimulatedCluster(nodes: Self.three, now: Self.t0)
        let nothing = wiped.controllerPass()
        #expect(nothing.assignments.isEmpty && nothing.records.isEmpty, "an empty store wrote something")

        cluster.deployments = [:]
        let emptied = cluster.controllerPass()
        #expect(emptied.assignments.count == 4 && emptied.assignments.values.allSatisfy { $0.isEmpty })
    }

    @Test("auto_revert: an update that never becomes healthy fails at its deadline and a copy of v1 is appended, then rolled out")
    func autoRevert() {
        var cluster = Self.settled(Self.manifest("web:1", autoRevert: true))
        var v2 = Self.manifest("web:2", autoRevert: true)
        v2.policies.update.healthyDeadlineMs = 5_000
        v2.policies.update.progressDeadlineMs = 10_000
        cluster.unhealthy = [v2.instanceHash(of: v2.agents[0])]
        cluster.apply(v2)
        var steps = 0
        while cluster.deployments["web"]?.versions.count == 2 && steps < 50 {
            cluster.step()
            steps += 1
        }
        let record = cluster.deployments["web"]
        #expect(record?.versions.count == 3 && record?.latest.isAutoRevert == true)
        for _ in 0..<40 { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .rolledBack)
        let v1 = Self.manifest("web:1", autoRevert: true)
        let v1Hash = v1.instanceHash(of: v1.agents[0])
        #expect(cluster.running.count == 6 && cluster.running.allSatisfy { $0.slot.specHash == v1Hash })
    }

    @Test("a version applied while paused changes nothing until resume: v1 keeps running untouched, then v2 is checked and rolled out")
    func applyWhilePaused() {
        var cluster = Self.settled()
        let before = cluster.assignments
        cluster.deployments["web"]?.status = .paused
        cluster.apply(Self.manifest("web:2"))
        #expect(cluster.deployments["web"]?.status == .paused)
        for _ in 0..<5 { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .paused && cluster.deployments["web"]?.latestWaitsForResume == true)
        #expect(cluster.assignments.mapValues(\.instances) == before.mapValues(\.instances), "the paused deployment's assignment changed")
        #expect(cluster.assignments.values.allSatisfy { $0.checks.isEmpty }, "the new version was checked while paused")
        // Resume (as the store does): not checked yet, so Validating first.
        cluster.deployments["web"]?.status = .validating
        for _ in 0..<30 where cluster.deployments["web"]?.status != .running { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .running && cluster.deployments["web"]?.rollbackTarget == 2)
        #expect(cluster.deployments["web"]?.previousStable == 1)
    }
}
