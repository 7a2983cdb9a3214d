import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Cluster reconciler: system and sysbatch jobs")
struct ClusterSystemJobTests {
    static let t0 = ClusterReconcilerTests.t0

    static func system(_ image: String, type: Manifest.JobType = .system, maxParallel: Int = 1, constraints: [PlacementConstraint] = [])
        -> Manifest
    {
        var policies = Policies.defaults
        policies.update.maxParallel = maxParallel
        policies.update.minHealthyMs = 0
        let args = type == .sysbatch ? ["true"] : []
        return Manifest(
            key: "agentd", type: type, agents: [AgentSpec(id: "agentd", workload: .image(image), args: args)], constraints: constraints,
            policies: policies)
    }

    /// `node → instance index` of what runs, one line per container.
    static func layout(_ cluster: SimulatedCluster) -> [String] {
        cluster.running.map { "\($0.node)=\($0.slot.instance.index)" }.sorted()
    }

    static func settled(_ manifest: Manifest = system("agentd:1"), nodes: [NodeInfo] = ClusterReconcilerTests.three) -> SimulatedCluster {
        var cluster = SimulatedCluster(nodes: nodes, now: t0)
        cluster.apply(manifest)
        for _ in 0..<4 { cluster.step() }
        return cluster
    }

    @Test("one instance on every eligible node, each node with an index of its own; Running")
    func onePerNode() {
        let cluster = Self.settled()
        #expect(Self.layout(cluster) == ["a=0", "b=1", "c=2"])
        #expect(cluster.deployments["agentd"]?.status == .running)
    }

    @Test("a node that joins gets its instance within one controller pass; nothing else moves or restarts")
    func nodeJoins() {
        var cluster = Self.settled()
        let before = cluster.running
        cluster.nodes.append(ClusterReconcilerTests.node("d"))
        cluster.controllerPass()
        #expect(cluster.assignments["d"]?.instances.map(\.id.index) == [3], "not placed on the new node within one pass")
        cluster.nodePasses()
        #expect(Self.layout(cluster) == ["a=0", "b=1", "c=2", "d=3"])
        let kept = cluster.running.filter { $0.node != "d" }
        #expect(kept.map(\.slot) == before.map(\.slot) && cluster.containers["a"] == Self.settled().containers["a"])
    }

    @Test("a node made ineligible loses its instance, the others keep theirs; eligible again, it gets the free index back")
    func nodeLeavesAndComesBack() {
        var cluster = Self.settled()
        cluster.nodes[1].eligible = false
        for _ in 0..<3 { cluster.step() }
        #expect(Self.layout(cluster) == ["a=0", "c=2"])
        cluster.nodes.append(ClusterReconcilerTests.node("d"))
        for _ in 0..<3 { cluster.step() }
        #expect(Self.layout(cluster) == ["a=0", "c=2", "d=1"], "the joining node did not take the free index")
        cluster.nodes[1].eligible = true
        for _ in 0..<3 { cluster.step() }
        #expect(Self.layout(cluster) == ["a=0", "b=3", "c=2", "d=1"])
        #expect(cluster.deployments["agentd"]?.status == .running)
    }

    @Test("only nodes that meet its constraints run it; none: the status says so")
    func constraints() {
        let nodes = [ClusterReconcilerTests.node("a", rack: "r1"), ClusterReconcilerTests.node("b", rack: "r2"), ClusterReconcilerTests.node("c", rack: "r1")]
        let cluster = Self.settled(Self.system("agentd:1", constraints: [PlacementConstraint(.meta("rack"), .equals("r1"))]), nodes: nodes)
        #expect(Self.layout(cluster) == ["a=0", "c=1"])
        let nowhere = Self.settled(Self.system("agentd:1", constraints: [PlacementConstraint(.meta("rack"), .equals("r9"))]), nodes: nodes)
        #expect(nowhere.running.isEmpty)
        #expect(nowhere.deployments["agentd"]?.unplaced?.contains("none does now") == true)
    }

    @Test("an update goes node by node, max_parallel nodes at a time, beside the old instance; ends with the new version on every node")
    func updateNodeByNode() {
        for maxParallel in [1, 2] {
            var cluster = Self.settled(Self.system("agentd:1", maxParallel: maxParallel))
            let v2 = Self.system("agentd:2", maxParallel: maxParallel)
            let hash = v2.instanceHash(of: v2.agents[0])
            cluster.apply(v2)
            var most = 0
            for _ in 0..<30 where cluster.deployments["agentd"]?.status != .running {
                cluster.step()
                let updating = Set(cluster.running.filter { $0.slot.specHash == hash }.map(\.node))
                let both = Set(cluster.running.filter { $0.slot.specHash != hash }.map(\.node)).intersection(updating)
                most = max(most, both.count)
                #expect(cluster.running.count <= 3 + maxParallel)
            }
            #expect(most == maxParallel, "nodes updating at once: \(most), max_parallel \(maxParallel)")
            #expect(cluster.deployments["agentd"]?.status == .running)
            #expect(cluster.running.map(\.slot.specHash) == Array(repeating: hash, count: 3))
            #expect(Self.layout(cluster) == ["a=0", "b=1", "c=2"])
        }
    }

    @Test("an update with a free index (a node left) maps every node's unit: the rollout ends on the nodes that remain")
    func updateWithAFreeIndex() {
        var cluster = Self.settled()
        cluster.nodes[0].eligible = false  // a (index 0) leaves
        for _ in 0..<3 { cluster.step() }
        let v2 = Self.system("agentd:2")
        cluster.apply(v2)
        for _ in 0..<30 where cluster.deployments["agentd"]?.status != .running { cluster.step() }
        #expect(cluster.deployments["agentd"]?.status == .running)
        #expect(Self.layout(cluster) == ["b=1", "c=2"])
        #expect(cluster.running.allSatisfy { $0.slot.specHash == v2.instanceHash(of: v2.agents[0]) })
    }

    @Test("a drained node keeps its system instance until its service instances moved, then it stops last")
    func drainStopsItLast() {
        var cluster = Self.settled()
        cluster.apply(ClusterReconcilerTests.manifest("web:1"))
        for _ in 0..<4 { cluster.step() }
        cluster.drain("c", deadline: Self.t0.adding(ms: 3_600_000))
        for _ in 0..<20 {
            cluster.step()
            let onC = cluster.running.filter { $0.node == "c" }.map(\.slot.instance.key)
            if onC.contains("web") { #expect(onC.contains("agentd"), "the system instance stopped before the service instances moved") }
        }
        #expect(cluster.running.filter { $0.node == "c" }.isEmpty, "the drained node still runs something")
        #expect(Self.layout(cluster).filter { $0.hasPrefix("c=") }.isEmpty)
        cluster.undrain("c")
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.running.filter { $0.node == "c" }.map(\.slot.instance.key) == ["agentd"], "undrained, the node did not get its system instance back")
    }

    @Test("a node that is down keeps its system instance: lost, never moved")
    func downNodeKeepsIt() {
        var cluster = Self.settled()
        cluster.cut("c")
        for _ in 0..<20 { cluster.step() }
        #expect(cluster.assignments["c"]?.instances.count == 1)
        #expect(cluster.running.filter { $0.node != "c" }.count == 2)
        #expect(cluster.deployments["agentd"]?.lost.first?.reason?.contains("serves its node") == true)
        cluster.restore("c")
        for _ in 0..<2 { cluster.step() }
        #expect(Self.layout(cluster) == ["a=0", "b=1", "c=2"] && cluster.deployments["agentd"]?.lost.isEmpty == true)
    }

    @Test("sysbatch: each run runs once on every eligible node")
    func sysbatchRunsPerNode() {
        let cluster = Self.settled(Self.system("agentd:1", type: .sysbatch))
        let run = cluster.deployments["agentd"]?.runs.first
        #expect(Self.layout(cluster) == ["a=0", "b=1", "c=2"])
        #expect(run != nil && cluster.assignments.values.allSatisfy { $0.instances.count == 1 })
    }
}
