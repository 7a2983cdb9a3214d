import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@Suite("Reconciler edge cases")
struct ReconcilerEdgeCaseTests {
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

    @Test("a changed restart policy gives an exhausted instance a fresh chance")
    func policyChangeClearsExhaustion() {
        let strict = Fixture.desired(restart: Fixture.policy(attempts: 1, delayMs: 0))
        let crashed = Fixture.container(for: strict, id: "c", state: .exited, exitCode: 1, finishedAt: Fixture.t0)
        var record = InstanceRecord(id: strict.id, specHash: strict.specHash)
        record.started = true
        record.restarts = [Fixture.t0.adding(ms: -1_000)]
        let exhausted = Fixture.reconcile([strict], [crashed], records: [record])
        guard case .failed = exhausted.instances.first?.phase else {
            Issue.record("expected Failed, got \(String(describing: exhausted.instances.first?.phase))")
            return
        }
        #expect(exhausted.isEmpty)
        let stillStrict = Fixture.reconcile([strict], [crashed], records: exhausted.records, now: Fixture.t0.adding(ms: 700_000))
        #expect(stillStrict.isEmpty, "fail mode stays failed even after the interval")

        var lenient = strict
        lenient.restart = Fixture.policy(attempts: 5, delayMs: 0)
        let retried = Fixture.reconcile([lenient], [crashed], records: exhausted.records)
        #expect(retried.actions == [.restart(RestartContainer(container: "c", instance: strict.id, specHash: strict.specHash, attempt: 2))])
    }

    @Test("a finished batch instance is not run again after its container is removed")
    func completedBatchStaysComplete() {
        let job = Fixture.desired(jobType: .batch)
        let done = Fixture.reconcile([job], [Fixture.container(for: job, id: "c", state: .exited, exitCode: 0, finishedAt: Fixture.t0)])
        let pruned = Fixture.reconcile([job], [], records: done.records, now: Fixture.t0.adding(ms: 60_000))
        #expect(pruned.isEmpty)
        #expect(pruned.instances.first?.phase == .complete)
    }

    @Test("printing a plan never shows env values")
    func planDescriptionRedacts() {
        let instance = Fixture.desired(Fixture.spec(env: ["API_TOKEN": "s3cr3t-token"]))
        let plan = Fixture.reconcile([instance], [])
        #expect(!"\(plan)".contains("s3cr3t-token"))
        #expect(!"\(plan.actions)".contains("s3cr3t-token"))
    }

    @Test("stopping a container that is already gone counts as done")
    func vanishedStopIsDone() async throws {
        let gone = Fixture.container(for: Fixture.desired(Fixture.spec("old")), id: "gone")
        let plan = Fixture.reconcile([], [gone])
        let (outcomes, _) = await PlanExecutor(runtime: FakeContainerRuntime()).execute(plan)
        #expect(outcomes.map(\.succeeded) == [true])
    }
}
