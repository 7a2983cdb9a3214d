import MNAgent
import MNCore
import MNReconcile
import MNReconcileGenerators
import MNReconcileTestSupport
import MNTestSupport
import PropertyBased
import Testing

/// The node reconciler in a loop with the plan executor and the fake runtime: what plans do
/// when they are carried out (the pure decisions alone are tested in MNReconcileTests).
@Suite("Reconcile loop: plans carried out on the fake runtime")
struct ReconcileLoopTests {
    /// Seeds a fake runtime with the scenario's containers, runs `plan` on it, and returns
    /// the runtime and the plan as executed.
    func apply(_ plan: NodePlan, to scenario: Scenario) async -> (FakeContainerRuntime, NodePlan) {
        let runtime = FakeContainerRuntime(now: scenario.now)
        await runtime.seed(scenario.observed)
        let (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        for outcome in outcomes where !outcome.succeeded {
            Issue.record("the fake refused \(outcome.action): \(String(describing: outcome.error))")
        }
        return (runtime, executed)
    }

    @Test("applying a plan to the fake runtime, then reconciling again, gives an empty plan")
    func convergesInOnePass() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let (runtime, executed) = await apply(plan, to: scenario)
            let observed = (try? await runtime.listManaged()) ?? []
            let again = NodeReconciler.reconcile(
                .init(
                    node: Fixture.node, desired: scenario.desired, observed: observed, records: executed.records, frozen: scenario.frozen,
                    now: scenario.now))
            #expect(again.actions.isEmpty, "second pass still acts: \(again.actions) for \(scenario)")
            let foreignBefore = scenario.observed.filter { !$0.isManaged(by: Fixture.node) }.sorted { $0.id < $1.id }
            let foreignAfter = await runtime.all.filter { !$0.isManaged(by: Fixture.node) }
            #expect(foreignAfter == foreignBefore, "foreign containers (or another node's) changed")
        }
    }

    @Test("a start that keeps failing is retried after each delay, not at every pass")
    func failedStartsWaitTheirDelay() async throws {
        let instance = Fixture.desired(
            Fixture.spec(image: "localhost/missing:1"),
            restart: Fixture.policy(attempts: 10, intervalMs: 600_000, delayMs: 10_000, function: .constant))
        let runtime = FakeContainerRuntime()
        await runtime.fail(.create, image: "localhost/missing:1", times: 100, message: "image not known")
        var loop = Loop(runtime: runtime, desired: [instance])
        var now = Fixture.t0
        var creates: [Int64] = []
        for _ in 0..<40 {
            let calls = await runtime.calls.count
            let plan = try await loop.tick(at: now)
            if await runtime.calls.count > calls + 1 { creates.append(now.milliseconds(since: Fixture.t0)) }
            // As the agent does: after acting, look again; otherwise sleep until the requeue.
            if plan.isEmpty {
                guard let wait = plan.requeueAt else { break }
                now = wait
            }
            if creates.count == 4 { break }
        }
        #expect(creates == [0, 10_000, 20_000, 30_000])
    }

    @Test("stopping a container that is already gone counts as done")
    func vanishedStopIsDone() async throws {
        let gone = Fixture.container(for: Fixture.desired(Fixture.spec("old")), id: "gone")
        let plan = Fixture.reconcile([], [gone])
        let (outcomes, _) = await PlanExecutor(runtime: FakeContainerRuntime()).execute(plan)
        #expect(outcomes.map(\.succeeded) == [true])
    }

    @Test("a running service with env is left alone, tick after tick")
    func tickIsIdempotent() async throws {
        let runtime = FakeContainerRuntime()
        var loop = Loop(runtime: runtime, desired: [Fixture.desired(Fixture.spec(env: ["A": "1", "SECRET": "s3cr3t"]))])
        let first = try await loop.tick(at: Fixture.t0)
        #expect(first.actions.count == 1)
        let id = try #require(try await runtime.listManaged().first?.id)
        await runtime.clearCalls()
        for tick in 1...5 {
            let plan = try await loop.tick(at: Fixture.t0.adding(ms: Int64(tick) * 30_000))
            #expect(plan.isEmpty)
            #expect(plan.instances.map(\.phase) == [.running])
            #expect(plan.instances.first?.container == id)
        }
        let calls = await runtime.calls
        #expect(calls.allSatisfy { $0 == .list }, "only lists, no create/stop: \(calls)")
    }

    @Test("a changed spec replaces the exact old container by id, with its own signal and grace")
    func changedSpecReplacesGracefully() async throws {
        let v1 = Fixture.desired(Fixture.spec(image: "localhost/web:1", lifecycle: Lifecycle(stopSignal: "SIGINT", gracePeriodMs: 5_000)))
        let v2 = Fixture.desired(Fixture.spec(image: "localhost/web:2"), version: 2)
        let old = Fixture.container(for: v1, id: "old1")
        let plan = Fixture.reconcile([v2], [old])
        let expected = NodeAction.replace(
            ReplaceContainer(old: StopContainer(old, reason: .superseded), new: StartContainer(instance: v2, node: Fixture.node)))
        #expect(plan.actions == [expected])
        guard case .replace(let replace) = plan.actions.first else { return }
        #expect(replace.old.container == "old1")
        #expect(replace.old.signal == "SIGINT")
        #expect(replace.old.gracePeriodMs == 5_000)

        let runtime = FakeContainerRuntime(now: Fixture.t0)
        await runtime.seed([old])
        let (outcomes, _) = await PlanExecutor(runtime: runtime).execute(plan)
        let created = try #require(outcomes.first?.created)
        let calls = await runtime.calls
        #expect(
            calls == [
                .stop("old1", signal: "SIGINT", gracePeriodMs: 5_000), .remove("old1"),
                .create(name: StartContainer(instance: v2, node: Fixture.node).name), .start(created),
            ])
    }

    @Test("a failed start reports Failed with the reason and never reverts")
    func failedStartRollsForward() async throws {
        let v1 = Fixture.desired(Fixture.spec(image: "localhost/web:1"))
        let v2 = Fixture.desired(Fixture.spec(image: "localhost/missing:2"), version: 2)
        let runtime = FakeContainerRuntime(now: Fixture.t0)
        var loop = Loop(runtime: runtime, desired: [v1])
        _ = try await loop.tick(at: Fixture.t0)
        await runtime.fail(.create, image: "localhost/missing:2", times: 10, message: "image not known")

        loop.desired = [v2]
        let plan = try await loop.tick(at: Fixture.t0.adding(ms: 1_000))
        guard case .failed(let reason, _) = plan.instances.first?.phase else {
            Issue.record("expected Failed, got \(String(describing: plan.instances.first?.phase))")
            return
        }
        #expect(reason.contains("image not known"))

        // Later passes retry v2 as the restart policy says; v1 is never started again.
        for step in 2...40 {
            _ = try await loop.tick(at: Fixture.t0.adding(ms: Int64(step) * 1_000))
        }
        let creates = await runtime.calls.compactMap { call -> String? in
            if case .create(let name) = call { return name }
            return nil
        }
        #expect(
            creates.filter { $0 == StartContainer(instance: v1, node: Fixture.node).name }.count == 1, "v1 was created once, at the start")
        #expect(
            creates.filter { $0 == StartContainer(instance: v2, node: Fixture.node).name }.count == 4, "first try + 3 restarts: \(creates)")
        let last = try await loop.tick(at: Fixture.t0.adding(ms: 100_000))
        guard case .failed(let final, nil) = last.instances.first?.phase else {
            Issue.record("expected a final Failed, got \(String(describing: last.instances.first?.phase))")
            return
        }
        #expect(final.contains("image not known") && final.contains("mode fail"))
        #expect(try await runtime.listManaged().isEmpty, "nothing of v1 came back")
    }

    @Test("every pending deadline shows up in requeueAfter: nothing is due before it, something is due at it")
    func requeueCoversEveryDeadline() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let (runtime, executed) = await apply(plan, to: scenario)
            let observed = (try? await runtime.listManaged()) ?? []
            func at(_ time: Timestamp, records: [InstanceRecord]) -> NodePlan {
                NodeReconciler.reconcile(
                    .init(
                        node: Fixture.node, desired: scenario.desired, observed: observed, records: records, frozen: scenario.frozen,
                        now: time))
            }
            let settled = at(scenario.now, records: executed.records)
            guard let due = settled.requeueAt else {
                let muchLater = at(scenario.now.adding(ms: 1_000_000_000), records: settled.records)
                #expect(muchLater.actions.isEmpty, "no requeue, yet later it acts: \(muchLater.actions)")
                return
            }
            #expect(due > scenario.now, "a deadline that is already due should have been acted on")
            let justBefore = at(due.adding(ms: -1), records: settled.records)
            #expect(justBefore.actions.isEmpty, "acts before requeueAt: \(justBefore.actions)")
            let atDue = at(due, records: settled.records)
            #expect(!atDue.actions.isEmpty, "nothing happens at requeueAt \(due)")
        }
    }
}
