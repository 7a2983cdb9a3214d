import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Cluster reconciler: node loss and rescheduling")
struct ClusterNodeLossTests {
    static let t0 = ClusterReconcilerTests.t0

    /// A count-6 service on three nodes, settled 2/2/2, with `reschedule` as its policy.
    static func settled(reschedule: ReschedulePolicy = .defaults, maxParallel: Int = 1) -> SimulatedCluster {
        var manifest = ClusterReconcilerTests.manifest("web:1", maxParallel: maxParallel)
        manifest.policies.reschedule = reschedule
        return ClusterReconcilerTests.settled(manifest)
    }

    /// Distinct slots running on nodes that are up.
    static func runningUp(_ cluster: SimulatedCluster) -> [InstanceSlot] {
        cluster.running.filter { cluster.down[$0.node] == nil }.map(\.slot)
    }

    @Test("a node that goes down: its instances are lost at once, placed elsewhere after the delay, stopped by the node when it is back; exactly six")
    func lostThenRescheduledThenStopped() {
        var cluster = Self.settled()
        let lostAt = cluster.now
        cluster.cut("c")
        let first = cluster.controllerPass()
        let record = cluster.deployments["web"]
        #expect(record?.lost.map(\.node) == ["c", "c"])
        #expect(record?.lost.allSatisfy { $0.since == lostAt && $0.rescheduleAt == lostAt.adding(ms: 5_000) } == true)
        #expect(record?.health.first?.lost == 2 && record?.health.first?.unhealthy == 0)
        #expect(first.requeueAt == lostAt.adding(ms: 5_000), "no pass asked for when the delay ends")
        #expect(cluster.assignments["c"]?.instances.count == 2, "moved before the delay ended")

        for _ in 0..<4 { cluster.step() }  // 4 s: still inside the delay
        #expect(cluster.assignments["c"]?.instances.count == 2)
        for _ in 0..<3 { cluster.step() }
        #expect(cluster.assignments["c"]?.instances.isEmpty == true, "not rescheduled after the delay")
        #expect(Set(Self.runningUp(cluster)).count == 6, "the count was not restored on the nodes that are up")
        #expect(cluster.deployments["web"]?.lost.isEmpty == true)
        #expect(cluster.deployments["web"]?.reschedules.count == 2)
        #expect(cluster.deployments["web"]?.events.contains { $0.message.contains("lost with node c") && $0.message.contains("rescheduled on node") } == true)

        cluster.restore("c")
        for _ in 0..<2 { cluster.step() }
        #expect(cluster.spread["c"] == nil, "the node that came back kept the instances placed elsewhere")
        #expect(cluster.running.count == 6 && Set(cluster.running.map(\.slot)).count == 6)
        #expect(cluster.deployments["web"]?.status == .running)
    }

    @Test("a node back before the delay ends keeps its instances: nothing moved")
    func backInTime() {
        var cluster = Self.settled()
        let before = cluster.running.map { "\($0.node) \($0.slot)" }
        cluster.cut("c")
        for _ in 0..<3 { cluster.step() }
        cluster.restore("c")
        for _ in 0..<8 { cluster.step() }
        #expect(cluster.running.map { "\($0.node) \($0.slot)" } == before)
        #expect(cluster.deployments["web"]?.lost.isEmpty == true && cluster.deployments["web"]?.reschedules.isEmpty == true)
    }

    @Test("attempts used up: the next loss within the interval is not rescheduled, and the status says why")
    func attemptsExhausted() {
        var cluster = Self.settled(
            reschedule: ReschedulePolicy(unlimited: false, attempts: 1, intervalMs: 3_600_000, delayMs: 1_000, delayFunction: .constant, maxDelayMs: 1_000))
        cluster.cut("c")
        for _ in 0..<4 { cluster.step() }
        #expect(cluster.assignments["c"]?.instances.isEmpty == true)
        // Whichever node now runs a moved instance goes down too.
        let moved = cluster.deployments["web"]?.reschedules.first?.to ?? "a"
        cluster.cut(moved)
        for _ in 0..<6 { cluster.step() }
        let lost = cluster.deployments["web"]?.lost ?? []
        #expect(!lost.isEmpty && lost.allSatisfy { $0.node == moved })
        let movedTwice = lost.filter { $0.rescheduleAt == nil && $0.reason?.contains("reschedule attempts exhausted (1 within interval_ms)") == true }
        #expect(!movedTwice.isEmpty, "an instance moved once was moved again: \(lost)")
        #expect(cluster.assignments[moved]?.instances.isEmpty == false, "the exhausted instance left its node")
    }

    @Test("an update goes on while a node is down: its lost new instance is unavailable, not failed, and the rollout finishes elsewhere")
    func rolloutGoesOn() {
        var cluster = Self.settled()
        var v2 = ClusterReconcilerTests.manifest("web:2")
        v2.policies.update.healthyDeadlineMs = 3_000
        v2.policies.reschedule = .defaults
        cluster.apply(v2)
        // Let the first batch start, then lose the node running its new instance.
        for _ in 0..<3 { cluster.step() }
        let hash = v2.instanceHash(of: v2.agents[0])
        let node = cluster.assignments.first { $0.value.instances.contains { $0.specHash == hash } }?.key ?? "c"
        cluster.cut(node)
        for _ in 0..<60 where cluster.deployments["web"]?.status != .running { cluster.step() }
        #expect(cluster.deployments["web"]?.status == .running, "the update failed while a node was down: \(cluster.deployments["web"]?.failure?.reason ?? "-")")
        #expect(Set(Self.runningUp(cluster).filter { $0.specHash == hash }).count == 6)
    }

    @Test("a paused deployment's lost instances stay where they are: nothing of it moves")
    func pausedStays() {
        var cluster = Self.settled()
        cluster.deployments["web"]?.status = .paused
        cluster.cut("c")
        for _ in 0..<10 { cluster.step() }
        #expect(cluster.assignments["c"]?.instances.count == 2)
        #expect(cluster.deployments["web"]?.lost.first?.reason?.contains("paused") == true)
    }

    @Test("a pinned deployment whose node is down waits for it: no other node fits, and the status says so")
    func pinnedWaits() {
        var cluster = SimulatedCluster(nodes: ClusterReconcilerTests.three, now: Self.t0)
        cluster.apply(ClusterReconcilerTests.manifest("web:1", count: 2), pin: "c")
        for _ in 0..<4 { cluster.step() }
        cluster.cut("c")
        for _ in 0..<10 { cluster.step() }
        #expect(cluster.assignments["c"]?.instances.count == 2)
        #expect(cluster.deployments["web"]?.lost.first?.reason?.contains("needs node.id = c") == true)
    }
}
