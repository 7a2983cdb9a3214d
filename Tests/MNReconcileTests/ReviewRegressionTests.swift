import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("Reconciler edge cases")
struct ReconcilerEdgeCaseTests {
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

}
