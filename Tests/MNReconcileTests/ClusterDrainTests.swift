import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Cluster reconciler: drains")
struct ClusterDrainTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)
    static let three = [ClusterReconcilerTests.node("a"), ClusterReconcilerTests.node("b"), ClusterReconcilerTests.node("c")]

    /// A count-6 service settled 2/2/2, `max_parallel` as given.
    static func settled(maxParallel: Int = 1, count: Int = 6) -> SimulatedCluster {
        var cluster = SimulatedCluster(nodes: three, now: t0)
        cluster.apply(ClusterReconcilerTests.manifest("web:1", count: count, maxParallel: maxParallel))
        for _ in 0..<4 { cluster.step() }
        return cluster
    }

    @Test("a drained node's instances move one at a time (max_parallel 1), each copy healthy before its original stops; never fewer than six healthy")
    func movesBeforeStopping() {
        var cluster = Self.settled()
        #expect(cluster.spread == ["a": 2, "b": 2, "c": 2])
        cluster.drain("c", deadline: Self.t0.adding(ms: 3_600_000))
        var steps = 0
        while (cluster.assignments["c"]?.instances.isEmpty == false || cluster.spread["c"] != nil) && steps < 40 {
            cluster.step()
            steps += 1
            #expect(cluster.healthy["web"] ?? 0 >= 6, "fewer than six healthy at step \(steps)")
            let running = cluster.running.count
            #expect(running <= 7, "more than max_parallel moving at once: \(running) containers")
        }
        #expect(cluster.spread == ["a": 3, "b": 3], "the drained node still runs something, or the count changed")
        #expect(cluster.deployments["web"]?.status == .running)
    }

    @Test("with max_parallel 2, two instances move at a time")
    func movesInParallel() {
        var cluster = Self.settled(maxParallel: 2)
        cluster.drain("c", deadline: Self.t0.adding(ms: 3_600_000))
        cluster.controllerPass()
        #expect(cluster.assignments.values.flatMap(\.instances).count == 8, "two copies beside the two originals")
        for _ in 0..<6 { cluster.step() }
        #expect(cluster.spread == ["a": 3, "b": 3])
    }

    @Test("at the deadline whatever is left on the node stops: copies that never became healthy stay where they went")
    func deadline() {
        var cluster = Self.settled()
        let hash = ClusterReconcilerTests.manifest("web:1").instanceHash(of: ClusterReconcilerTests.manifest("web:1").agents[0])
        cluster.drain("c", deadline: Self.t0.adding(ms: 10_000))
        cluster.unhealthy = [hash]  // copies never become healthy
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.spread["c"] == 2, "an original stopped before its copy was healthy and before the deadline")
        cluster.now = Self.t0.adding(ms: 20_000)
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.spread["c"] == nil, "the deadline passed and the node still runs instances")
        #expect(cluster.running.count == 6)
    }

    @Test("undrain moves nothing back; a drained node takes new instances again once eligible")
    func undrain() {
        var cluster = Self.settled()
        cluster.drain("c", deadline: Self.t0.adding(ms: 3_600_000))
        for _ in 0..<20 { cluster.step() }
        #expect(cluster.spread == ["a": 3, "b": 3])
        cluster.undrain("c")
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.spread == ["a": 3, "b": 3], "something moved back")
        cluster.apply(ClusterReconcilerTests.manifest("web:1", count: 7))
        for _ in 0..<6 { cluster.step() }
        #expect(cluster.spread["c"] == 1, "the seventh instance did not go to the emptiest node")
    }

    @Test("when no other node fits, the instance stays on the draining node and its status says why; at the deadline it stops")
    func nowhereToGo() {
        var cluster = SimulatedCluster(nodes: [ClusterReconcilerTests.node("a")], now: Self.t0)
        cluster.apply(ClusterReconcilerTests.manifest("web:1", count: 2))
        for _ in 0..<4 { cluster.step() }
        cluster.drain("a", deadline: Self.t0.adding(ms: 60_000))
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.spread == ["a": 2])
        #expect(cluster.deployments["web"]?.unplaced == "no node fits agent \"web\": a: draining")
        cluster.now = Self.t0.adding(ms: 120_000)
        for _ in 0..<2 { cluster.step() }
        #expect(cluster.spread["a"] == nil)
    }

    @Test("a paused deployment's instances on a drained node do not move (nothing of it acts); at the deadline that node stops them")
    func pausedStopsAtTheDeadline() {
        var cluster = Self.settled()
        cluster.deployments["web"]?.status = .paused
        cluster.drain("c", deadline: Self.t0.adding(ms: 60_000))
        cluster.controllerPass()
        #expect(cluster.assignments.values.flatMap(\.instances).count == 6, "copies were placed for a paused deployment")
        #expect(cluster.assignments["c"]?.frozen == ["web"])
        cluster.now = Self.t0.adding(ms: 61_000)
        cluster.controllerPass()
        #expect(cluster.assignments["c"]?.instances.isEmpty == true && cluster.assignments["c"]?.frozen.isEmpty == true)
        #expect(cluster.assignments["a"]?.frozen == ["web"], "another node may act on the paused deployment")
    }
}
