import MNCore
import MNReconcile
import Testing

@Suite("The deployment state machine, transition by transition")
struct DeploymentTransitionsTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)
    static let node = NodeID("n1")

    static func manifest(_ image: String, autoRevert: Bool = false) -> Manifest {
        var policies = Policies.defaults
        policies.update.autoRevert = autoRevert
        return Manifest(key: "web", agents: [AgentSpec(id: "web", count: 2, workload: .image(image))], policies: policies)
    }

    /// Version 1 running (its rollback target), version 2 appended and in `status`.
    static func updating(_ status: DeploymentStatus = .deploying, autoRevert: Bool = false) -> Deployment {
        var deployment = Deployment(first: manifest("web:1"), at: t0)
        deployment.status = .running
        deployment.markStable(1)
        _ = try? deployment.append(manifest("web:2", autoRevert: autoRevert), at: t0.adding(ms: 1_000))
        deployment.status = status
        return deployment
    }

    static let later = t0.adding(ms: 5_000)
    static let health = [HealthSummary(version: 1, desired: 1, placed: 1, healthy: 1), HealthSummary(version: 2, desired: 1, placed: 1)]

    @Test("validation passes into Deploying, or fails with every problem, once; a stale verdict changes nothing")
    func validation() {
        var passed = Self.updating(.validating)
        #expect(DeploymentTransitions.validated(&passed, version: 2, problems: [], nodes: [Self.node], at: Self.later))
        #expect(passed.status == .deploying && passed.events.last?.message == "validation passed on node n1")
        #expect(!DeploymentTransitions.validated(&passed, version: 2, problems: [], nodes: [Self.node], at: Self.later), "a second verdict")

        var failed = Self.updating(.validating)
        #expect(DeploymentTransitions.validated(&failed, version: 2, problems: ["a", "b"], nodes: [Self.node], at: Self.later))
        #expect(failed.status == .failed)
        #expect(failed.failure == DeploymentFailure(version: 2, phase: .validating, reason: "a; b", at: Self.later))
        #expect(failed.events.last?.message == "validation failed on node n1: a; b")

        var stale = Self.updating(.validating)
        let before = stale
        #expect(!DeploymentTransitions.validated(&stale, version: 1, problems: [], nodes: [Self.node], at: Self.later))
        #expect(stale == before)
    }

    @Test("a rollout starts once (one event), records changes only, and a promotion made meanwhile is kept")
    func progressing() {
        var deployment = Self.updating(.validating)
        var state = RolloutState(target: 2, now: Self.later)
        let outcome = RolloutOutcome.progressing(waitingFor: "batch 1", deadline: nil)
        #expect(DeploymentTransitions.rollout(&deployment, version: 2, state: state, outcome: outcome, health: Self.health, at: Self.later))
        #expect(deployment.status == .deploying && deployment.rollout == state && deployment.health == Self.health)
        #expect(deployment.events.last?.message == "update to version 2 started (rolling)")
        let events = deployment.events.count
        #expect(!DeploymentTransitions.rollout(&deployment, version: 2, state: state, outcome: outcome, health: Self.health, at: Self.later))

        // An operator promoted while the decision was made: the decision's state does not undo it.
        deployment.rollout?.promotedAt = Self.later.adding(ms: 10)
        state.awaitingPromotion = true
        #expect(DeploymentTransitions.rollout(&deployment, version: 2, state: state, outcome: outcome, health: Self.health, at: Self.later))
        #expect(deployment.rollout?.promotedAt == Self.later.adding(ms: 10) && deployment.rollout?.awaitingPromotion == false)
        #expect(deployment.events.count == events, "progress is not an event")
    }

    @Test("success makes the version the rollback target: Running, or RolledBack for an auto-revert")
    func succeeded() throws {
        var deployment = Self.updating()
        #expect(DeploymentTransitions.rollout(&deployment, version: 2, state: RolloutState(target: 2, now: Self.t0), outcome: .succeeded, health: [], at: Self.later))
        #expect(deployment.status == .running && deployment.rollbackTarget == 2 && deployment.rollout == nil)
        #expect(deployment.events.last?.message == "version 2 rolled out")

        var reverted = Self.updating(.failed, autoRevert: true)
        let reverting = reverted.revertAfterFailure(of: 2, reason: "deadline", at: Self.later)
        let revert = try #require(reverting)
        #expect(
            DeploymentTransitions.rollout(
                &reverted, version: revert.number, state: RolloutState(target: revert.number, now: Self.later), outcome: .succeeded,
                health: [], at: Self.later))
        #expect(reverted.status == .rolledBack && reverted.rollbackTarget == revert.number)
    }

    @Test("failure records why and keeps the rollout state; a paused or already failed deployment takes no decision")
    func failedAndFrozen() {
        var deployment = Self.updating()
        let state = RolloutState(target: 2, now: Self.t0)
        #expect(DeploymentTransitions.rollout(&deployment, version: 2, state: state, outcome: .failed(reason: "deadline"), health: [], at: Self.later))
        #expect(deployment.status == .failed && deployment.rollout == state)
        #expect(deployment.failure == DeploymentFailure(version: 2, phase: .deploying, reason: "deadline", at: Self.later))
        #expect(deployment.events.last?.message == "update failed: deadline")

        for status in [DeploymentStatus.paused, .failed] {
            var frozen = Self.updating(status)
            let before = frozen
            #expect(!DeploymentTransitions.rollout(&frozen, version: 2, state: state, outcome: .succeeded, health: Self.health, at: Self.later))
            #expect(frozen == before)
        }
        var superseded = Self.updating()
        #expect(!DeploymentTransitions.rollout(&superseded, version: 1, state: state, outcome: .succeeded, health: [], at: Self.later))
    }

    @Test("a direct deployment is Deploying until every instance is up, then Running once; health changes alone are recorded")
    func direct() {
        var deployment = Deployment(first: Self.manifest("web:1"), at: Self.t0)
        deployment.status = .validating
        #expect(DeploymentTransitions.direct(&deployment, version: 1, up: false, health: [], at: Self.later))
        #expect(deployment.status == .deploying)
        #expect(!DeploymentTransitions.direct(&deployment, version: 1, up: false, health: [], at: Self.later))
        #expect(DeploymentTransitions.direct(&deployment, version: 1, up: true, health: [], at: Self.later))
        #expect(deployment.status == .running && deployment.rollbackTarget == 1 && deployment.events.last?.message == "version 1 running")
        #expect(!DeploymentTransitions.direct(&deployment, version: 1, up: true, health: [], at: Self.later))
        #expect(DeploymentTransitions.direct(&deployment, version: 1, up: true, health: Self.health, at: Self.later))
        #expect(deployment.health == Self.health && deployment.status == .running)
    }

    @Test("health summaries count desired, placed, healthy and unhealthy instances per version")
    func healthSummaries() {
        let v1 = Self.manifest("web:1").desiredInstances(version: 1)
        let v2 = Self.manifest("web:2").desiredInstances(version: 2)
        let statuses = [
            InstanceStatus(id: v1[0].id, version: 1, specHash: v1[0].specHash, phase: .running, container: "c1", health: .healthy),
            InstanceStatus(id: v2[0].id, version: 2, specHash: v2[0].specHash, phase: .running, container: "c2", health: .unhealthy),
            InstanceStatus(id: v2[1].id, version: 2, specHash: v2[1].specHash, phase: .pending),
        ]
        #expect(
            DeploymentTransitions.healthSummaries(desired: [v1[1]] + v2, statuses: statuses, signal: .checks) == [
                HealthSummary(version: 1, desired: 1, placed: 1, healthy: 1, unhealthy: 0),
                HealthSummary(version: 2, desired: 2, placed: 1, healthy: 0, unhealthy: 1),
            ])
    }

    @Test("a batch run ends when all its instances complete, or when one fails for good")
    func batchRuns() {
        let manifest = Manifest(key: "report", type: .batch, agents: [AgentSpec(id: "job", count: 2, workload: .image("job:1"))])
        let run = BatchRun(number: 1, version: 1, startedAt: Self.t0)
        let instances = manifest.desiredInstances(version: 1, run: 1)
        func status(_ index: Int, _ phase: InstancePhase) -> InstanceStatus {
            InstanceStatus(id: instances[index].id, version: 1, specHash: instances[index].specHash, phase: phase)
        }
        #expect(DeploymentTransitions.endedRuns([(run, instances)], statuses: [status(0, .complete), status(1, .running)]).isEmpty)
        #expect(
            DeploymentTransitions.endedRuns([(run, instances)], statuses: [status(0, .complete), status(1, .complete)]).map(\.outcome) == [.complete])
        #expect(
            DeploymentTransitions.endedRuns([(run, instances)], statuses: [status(0, .failed(reason: "exit 3", retryAt: nil)), status(1, .running)])
                .map(\.outcome) == [.failed(reason: "report/job/0: exit 3")])
        #expect(
            DeploymentTransitions.endedRuns([(run, instances)], statuses: [status(0, .failed(reason: "exit 3", retryAt: Self.later))]).isEmpty,
            "a failure that will be retried does not end the run")
    }
}
