import MNCore
import MNReconcile
import Testing

@Suite("Deployment planner: which versions run and how, per deployment")
struct DeploymentPlannerTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)

    static func manifest(_ image: String, type: Manifest.JobType = .service, autoRevert: Bool = false) -> Manifest {
        var policies = Policies.defaults
        policies.update.autoRevert = autoRevert
        return Manifest(key: "web", type: type, agents: [AgentSpec(id: "web", count: 2, workload: .image(image))], policies: policies)
    }

    /// v1 settled (Running, the rollback target); with `update`, v2 appended in `status`.
    static func deployment(update: Bool = true, status: DeploymentStatus = .deploying) -> Deployment {
        var deployment = Deployment(first: manifest("web:1"), at: t0)
        deployment.status = .running
        deployment.markStable(1)
        if update {
            _ = try? deployment.append(manifest("web:2"), at: t0)
            deployment.status = status
        }
        return deployment
    }

    func images(_ decision: DeploymentPlanner.Decision) -> [String] {
        decision.instances.map { if case .image(let image) = $0.spec.workload { image } else { "" } }
    }

    @Test("the first version, and a settled one, are placed directly")
    func direct() {
        var first = Deployment(first: Self.manifest("web:1"), at: Self.t0)
        first.status = .deploying
        let decision = DeploymentPlanner.decide(first, version: 1, failedValidation: false, statuses: [], now: Self.t0)
        guard case .direct(1, .checks) = decision.mode else {
            Issue.record("not direct: \(decision.mode)")
            return
        }
        #expect(images(decision) == ["web:1", "web:1"] && !decision.frozen && decision.requeueAt == nil)

        let settled = DeploymentPlanner.decide(Self.deployment(update: false), version: 1, failedValidation: false, statuses: [], now: Self.t0)
        guard case .direct(1, _) = settled.mode else {
            Issue.record("not direct: \(settled.mode)")
            return
        }
    }

    @Test("an update from a stable version is a rollout: the first batch beside the old instances")
    func rollout() {
        let decision = DeploymentPlanner.decide(Self.deployment(), version: 2, failedValidation: false, statuses: [], now: Self.t0)
        guard case .rollout(2, let plan, _) = decision.mode else {
            Issue.record("not a rollout: \(decision.mode)")
            return
        }
        #expect(plan.state.target == 2 && decision.instances == plan.desired && !decision.frozen)
        #expect(images(decision).sorted() == ["web:1", "web:1", "web:2"], "max_parallel 1: one new instance beside the two old")
        #expect(decision.requeueAt == plan.requeueAt)
    }

    @Test("paused, or its update failed: frozen (reported, never acted on), and its record is left alone")
    func frozen() {
        for status in [DeploymentStatus.paused, .failed] {
            var deployment = Self.deployment(status: status)
            if status == .failed { deployment.rollout = RolloutState(target: 2, now: Self.t0) }
            let decision = DeploymentPlanner.decide(deployment, version: 2, failedValidation: false, statuses: [], now: Self.t0)
            #expect(decision.frozen, "\(status)")
            let before = deployment
            #expect(!DeploymentPlanner.record(decision, statuses: [], in: &deployment, at: Self.t0))
            #expect(deployment == before)
            #expect(!DeploymentPlanner.intend(decision, in: &deployment, at: Self.t0))
        }
    }

    @Test("a version that failed validation is held: the stable version keeps running; with none, nothing runs")
    func held() {
        let decision = DeploymentPlanner.decide(Self.deployment(status: .failed), version: 2, failedValidation: true, statuses: [], now: Self.t0)
        guard case .held(2) = decision.mode else {
            Issue.record("not held: \(decision.mode)")
            return
        }
        #expect(images(decision) == ["web:1", "web:1"] && !decision.frozen)

        var fresh = Deployment(first: Self.manifest("web:1"), at: Self.t0)
        fresh.status = .failed
        let nothing = DeploymentPlanner.decide(fresh, version: 1, failedValidation: true, statuses: [], now: Self.t0)
        #expect(nothing.instances.isEmpty && nothing.frozen)
    }

    @Test("a batch deployment runs its unfinished runs; a run of a version that failed validation waits")
    func batch() {
        var deployment = Deployment(first: Self.manifest("job:1", type: .batch), at: Self.t0)
        deployment.status = .deploying
        let decision = DeploymentPlanner.decide(deployment, version: 1, failedValidation: false, statuses: [], now: Self.t0)
        guard case .batch(let runs) = decision.mode else {
            Issue.record("not batch: \(decision.mode)")
            return
        }
        #expect(runs.map(\.run.number) == [1] && decision.instances.count == 2)
        #expect(DeploymentPlanner.decide(deployment, version: 1, failedValidation: true, statuses: [], now: Self.t0).instances.isEmpty)

        let done = decision.instances.map {
            InstanceStatus(id: $0.id, version: 1, specHash: $0.specHash, phase: .complete)
        }
        #expect(DeploymentPlanner.record(decision, statuses: done, in: &deployment, at: Self.t0))
        #expect(deployment.runs.first?.outcome == .complete)
    }

    @Test("recording: a direct deployment runs once all its instances are up; a failed rollout names its reason")
    func recording() {
        var first = Deployment(first: Self.manifest("web:1"), at: Self.t0)
        first.status = .deploying
        let decision = DeploymentPlanner.decide(first, version: 1, failedValidation: false, statuses: [], now: Self.t0)
        let up = decision.instances.map {
            InstanceStatus(id: $0.id, version: 1, specHash: $0.specHash, phase: .running, container: ContainerID("c\($0.id.index)"))
        }
        _ = DeploymentPlanner.record(decision, statuses: Array(up.prefix(1)), in: &first, at: Self.t0)
        #expect(first.status == .deploying && first.health.first?.placed == 1, "one of two up is not running yet")
        #expect(DeploymentPlanner.record(decision, statuses: up, in: &first, at: Self.t0))
        #expect(first.status == .running && first.rollbackTarget == 1)

        // Past the progress deadline with nothing healthy: the update fails, and says why.
        let stuck = Self.deployment()
        var state = RolloutState(target: 2, now: Self.t0)
        state.lastProgressAt = Self.t0
        var failing = stuck
        failing.rollout = state
        let late = Self.t0.adding(ms: 3_600_000)
        let failed = DeploymentPlanner.decide(failing, version: 2, failedValidation: false, statuses: [], now: late)
        let failure = DeploymentPlanner.failure(of: failed)
        #expect(failure?.version == 2 && failure?.reason.isEmpty == false)
        #expect(DeploymentPlanner.record(failed, statuses: [], in: &failing, at: late))
        #expect(failing.status == .failed)
    }
}
