import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Node reconciler scenarios (seed 004)")
struct NodeReconcilerScenarioTests {
    @Test("an unchanged spec is a no-op")
    func unchangedIsNoop() {
        let instance = Fixture.desired()
        let plan = Fixture.reconcile([instance], [Fixture.container(for: instance, id: "c1")])
        #expect(plan.actions.isEmpty)
        #expect(plan.requeueAt == nil)
        #expect(plan.instances.first?.phase == .running)
    }

    @Test("two specs desired for one instance run side by side; dropping the old one stops it by id")
    func surgeSideBySide() {
        let v1 = Fixture.desired(Fixture.spec(image: "localhost/web:1"))
        let v2 = Fixture.desired(Fixture.spec(image: "localhost/web:2"), version: 2)
        let old = Fixture.container(for: v1, id: "old1")
        let surge = Fixture.reconcile([v1, v2], [old])
        #expect(surge.actions == [.start(StartContainer(instance: v2, node: Fixture.node))], "the old one is left running")
        #expect(surge.instances.map(\.phase) == (v1.specHash < v2.specHash ? [.running, .pending] : [.pending, .running]))

        let new = Fixture.container(for: v2, id: "new2")
        let retire = Fixture.reconcile([v2], [old, new])
        #expect(retire.actions == [.stop(StopContainer(old, reason: .superseded))])
    }

    @Test("a frozen (paused or failed) deployment's instances report the containers that run them, and nothing is acted on")
    func frozenReportsItsContainers() {
        let web = Fixture.desired(Fixture.spec("web"))
        let gone = Fixture.desired(Fixture.spec("gone"), index: 1)
        let stray = Fixture.container(for: Fixture.desired(Fixture.spec("old")), id: "s")
        let plan = NodeReconciler.reconcile(
            .init(
                node: Fixture.node, desired: [web, gone], observed: [Fixture.container(for: web, id: "w"), stray], records: [],
                frozen: ["shop"], now: Fixture.t0))
        #expect(plan.actions.isEmpty, "a frozen deployment's missing instance started, or its stray stopped")
        #expect(plan.instances.map { "\($0.id) \($0.phase) \($0.container?.rawValue ?? "-")" }.sorted()
            == ["shop/gone/1 pending -", "shop/web/0 running w"])
    }

    @Test("a frozen deployment's exited container is reported as what happened: its exit code, restarts and last error")
    func frozenReportsAnExit() {
        let web = Fixture.desired(Fixture.spec("web"))
        var record = InstanceRecord(id: web.id, specHash: web.specHash)
        record.restarts = [Fixture.t0, Fixture.t0.adding(ms: 1_000), Fixture.t0.adding(ms: 3_000)]
        record.lastError = "exited with code 3"
        let exited = Fixture.container(for: web, id: "x", state: .exited, exitCode: 3)
        let plan = NodeReconciler.reconcile(
            .init(node: Fixture.node, desired: [web], observed: [exited], records: [record], frozen: ["shop"], now: Fixture.t0))
        #expect(plan.actions.isEmpty)
        #expect(plan.instances.first?.phase == .failed(reason: "exited with code 3 after 3 restarts; last error: exited with code 3", retryAt: nil))
        #expect(plan.instances.first?.container == "x")
    }

    /// A spec that offers a service on its port: its containers leave discovery `delayMs` before they stop.
    static func serving(_ image: String, delayMs: Int = 1_000) -> AgentSpec {
        var spec = Fixture.spec(image: image, lifecycle: Lifecycle(stopSignal: "SIGTERM", gracePeriodMs: 5_000, shutdownDelayMs: delayMs))
        spec.ports = [PortMapping(name: "http", containerPort: 80)]
        spec.services = [ServiceSpec(name: "shop", port: "http")]
        return spec
    }

    @Test("traffic-safe stop: a serving container leaves discovery and is stopped only once its shutdown delay has passed")
    func drainsBeforeStopping() {
        let old = Fixture.desired(Self.serving("localhost/web:1"))
        let new = Fixture.desired(Self.serving("localhost/web:2"), version: 2)
        let oldContainer = Fixture.container(for: old, id: "old")
        #expect(oldContainer.lifecycle.shutdownDelayMs == 1_000, "the delay is not baked into the container")
        let newContainer = Fixture.container(for: new, id: "new")
        // The rollout dropped the old instance: it drains first.
        let first = Fixture.reconcile([new], [oldContainer, newContainer])
        #expect(first.actions.isEmpty && first.draining == ["old": Fixture.t0] && first.requeueAt == Fixture.t0.adding(ms: 1_000))
        #expect(!first.instances.contains { $0.container == "old" }, "a draining container is still reported (and so discoverable)")
        func pass(after ms: Int64, draining: [ContainerID: Timestamp]) -> NodePlan {
            NodeReconciler.reconcile(
                .init(node: Fixture.node, desired: [new], observed: [oldContainer, newContainer], now: Fixture.t0.adding(ms: ms), draining: draining))
        }
        #expect(pass(after: 500, draining: first.draining).actions.isEmpty)
        #expect(pass(after: 1_000, draining: first.draining).actions == [.stop(StopContainer(oldContainer, reason: .superseded))])
        // A replace in place (no container of the new spec yet) waits for the drain too.
        let inPlace = Fixture.reconcile([new], [oldContainer])
        #expect(inPlace.actions.isEmpty && inPlace.draining == ["old": Fixture.t0])
        let later = NodeReconciler.reconcile(
            .init(node: Fixture.node, desired: [new], observed: [oldContainer], now: Fixture.t0.adding(ms: 1_000), draining: inPlace.draining))
        #expect(later.actions.count == 1 && later.actions.first?.start != nil)
        // Without services (or with shutdown_delay_ms 0) it stops at once.
        let plain = Fixture.desired(Fixture.spec(image: "localhost/web:1"))
        #expect(Fixture.reconcile([], [Fixture.container(for: plain, id: "p")]).actions.count == 1)
        let zero = Fixture.desired(Self.serving("localhost/web:1", delayMs: 0))
        #expect(Fixture.reconcile([], [Fixture.container(for: zero, id: "z")]).actions.count == 1)
    }

    @Test("a service dropped from the desired state is stopped by id")
    func droppedServiceIsStopped() {
        let web = Fixture.desired(Fixture.spec("web"))
        let worker = Fixture.desired(Fixture.spec("worker"))
        let plan = Fixture.reconcile([web], [Fixture.container(for: web, id: "w"), Fixture.container(for: worker, id: "k")])
        #expect(plan.actions == [.stop(StopContainer(Fixture.container(for: worker, id: "k"), reason: .notDesired))])
    }

    @Test("two containers for one instance: the earliest started is kept, the other stopped by id")
    func duplicateIsStopped() {
        let instance = Fixture.desired()
        let early = Fixture.container(for: instance, id: "b", startedAt: Timestamp(milliseconds: 10))
        let late = Fixture.container(for: instance, id: "a", startedAt: Timestamp(milliseconds: 20), nameSuffix: "-2")
        let plan = Fixture.reconcile([instance], [late, early])
        #expect(plan.actions == [.stop(StopContainer(late, reason: .duplicate))])
        #expect(plan.instances.first?.container == "b")
    }

    @Test("containers without mn's labels, or another node's, are never touched; half-labelled ones of this node are")
    func foreignAndUnrecognized() {
        let foreign = ObservedContainer(id: "f", name: "postgres", labels: ["app": "db"], state: .running)
        let broken = ObservedContainer(
            id: "x", name: "mn-odd", labels: [ContainerLabel.deploymentKey: "shop", ContainerLabel.node: "n1"], state: .exited)
        let instance = Fixture.desired()
        let otherNodes = ObservedContainer(
            id: "o", name: "mn-other", labels: StartContainer(instance: instance, node: "n2").labels, state: .running)
        let plan = Fixture.reconcile([], [foreign, broken, otherNodes])
        #expect(plan.actions == [.stop(StopContainer(broken, reason: .unrecognized))])
    }

    @Test("a batch instance that exited 0 is complete; one that exited 1 restarts")
    func batchCompletion() {
        let job = Fixture.desired(jobType: .batch)
        let done = Fixture.reconcile([job], [Fixture.container(for: job, id: "c", state: .exited, exitCode: 0, finishedAt: Fixture.t0)])
        #expect(done.actions.isEmpty)
        #expect(done.instances.first?.phase == .complete)
        let crashed = Fixture.reconcile(
            [job], [Fixture.container(for: job, id: "c", state: .exited, exitCode: 1, finishedAt: Fixture.t0.adding(ms: -5_000))])
        #expect(crashed.actions == [.restart(RestartContainer(container: "c", instance: job.id, specHash: job.specHash, attempt: 1))])
    }

    @Test("a container that vanished is started again after the delay, counted from when it was first missed")
    func vanishedContainer() {
        let instance = Fixture.desired(restart: Fixture.policy(delayMs: 2_000))
        var record = InstanceRecord(id: instance.id, specHash: instance.specHash)
        record.started = true
        let first = Fixture.reconcile([instance], [], records: [record])
        #expect(first.actions.isEmpty)
        #expect(first.instances.first?.phase == .restarting(at: Fixture.t0.adding(ms: 2_000)))
        #expect(first.requeueAfter == .milliseconds(2_000))
        let later = Fixture.reconcile([instance], [], records: first.records, now: Fixture.t0.adding(ms: 1_500))
        #expect(later.requeueAt == Fixture.t0.adding(ms: 2_000), "the outage start is remembered")
        let due = Fixture.reconcile([instance], [], records: later.records, now: Fixture.t0.adding(ms: 2_000))
        #expect(due.actions == [.start(StartContainer(instance: instance, node: Fixture.node))])
    }

    @Test("an exited container of the desired spec is restarted by its id, not recreated")
    func restartById() {
        let instance = Fixture.desired()
        let plan = Fixture.reconcile(
            [instance],
            [Fixture.container(for: instance, id: "c9", state: .exited, exitCode: 137, finishedAt: Fixture.t0.adding(ms: -1_000))])
        #expect(
            plan.actions == [.restart(RestartContainer(container: "c9", instance: instance.id, specHash: instance.specHash, attempt: 1))])
    }
}
