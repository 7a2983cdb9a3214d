public import MNCore

/// The deployment state machine: how a deployment record changes after a decision, as pure
/// functions of the record, the decision and `now`.
///
/// Each transition changes the record in place and returns whether it changed anything, so
/// the one writer stores only what changed. A newer version, a pause or a fail that reached
/// the record after the decision was made wins: the decision is dropped, and the next one
/// acts on the new state.
///
/// ```
/// Validating ──passed──► Deploying ──rolled out──► Running (RolledBack for an auto-revert)
///     │                     │
///     └──failed──► Failed ◄─┘ (deadline, unhealthy) ──auto_revert──► a new version, Deploying
/// ```
public enum DeploymentTransitions {
    /// The verdict of validating version `version` on `nodes` (``Preflight/problems(_:)`` on
    /// each, every problem prefixed with its node when there are several): Deploying when there
    /// are no problems, else Failed in Validating with every reason.
    public static func validated(
        _ deployment: inout Deployment, version: Int, problems: [String], nodes: [NodeID], at now: Timestamp
    ) -> Bool {
        guard deployment.status == .validating, deployment.latest.number == version else { return false }
        let on = nodes.count == 1 ? "node \(nodes[0])" : "nodes \(nodes.map(\.rawValue).joined(separator: ", "))"
        if problems.isEmpty {
            deployment.status = .deploying
            deployment.record(DeploymentEvent(at: now, version: version, message: "validation passed on \(on)"))
        } else {
            let reason = problems.joined(separator: "; ")
            deployment.status = .failed
            deployment.failure = DeploymentFailure(version: version, phase: .validating, reason: reason, at: now)
            deployment.record(DeploymentEvent(at: now, version: version, message: "validation failed on \(on): \(reason)"))
        }
        return true
    }

    /// The rollout step about to be taken for the update to `version` (its new `state`),
    /// recorded before the node acts on it: whatever happens between acting and recording the
    /// result (a crash, `kill -9`), the next decision starts from this step and never undoes it.
    public static func intend(_ deployment: inout Deployment, version: Int, state planned: RolloutState, at now: Timestamp) -> Bool {
        guard deployment.latest.number == version, deployment.status != .paused, deployment.status != .failed else { return false }
        let state = keepingPromotion(planned, of: deployment, version: version)
        guard deployment.rollout != state else { return false }
        start(&deployment, version: version, state: state, at: now)
        return true
    }

    /// One decision of the ``RolloutPlanner`` for the update to `version` (its new `state` and
    /// `outcome`): progress, success (the version becomes the rollback target) or failure. A
    /// promotion an operator recorded meanwhile is kept.
    public static func rollout(
        _ deployment: inout Deployment, version: Int, state planned: RolloutState, outcome: RolloutOutcome, health: [HealthSummary],
        at now: Timestamp
    ) -> Bool {
        guard deployment.latest.number == version, deployment.status != .paused, deployment.status != .failed else { return false }
        let state = keepingPromotion(planned, of: deployment, version: version)
        let healthChanged = deployment.health != health
        deployment.health = health
        switch outcome {
        case .progressing:
            guard deployment.status != .deploying || deployment.rollout != state || healthChanged else { return false }
            start(&deployment, version: version, state: state, at: now)
        case .succeeded:
            deployment.status = deployment.version(version)?.isAutoRevert == true ? .rolledBack : .running
            deployment.markStable(version)
            deployment.rollout = nil
            deployment.record(DeploymentEvent(at: now, version: version, message: "version \(version) rolled out"))
        case .failed(let reason):
            deployment.status = .failed
            deployment.rollout = state
            deployment.failure = DeploymentFailure(version: version, phase: .deploying, reason: reason, at: now)
            deployment.record(DeploymentEvent(at: now, version: version, message: "update failed: \(reason)"))
        }
        return true
    }

    /// `planned`, keeping a promotion an operator recorded for `version` while it was decided.
    private static func keepingPromotion(_ planned: RolloutState, of deployment: Deployment, version: Int) -> RolloutState {
        var state = planned
        if state.promotedAt == nil, let promoted = deployment.rollout?.promotedAt, deployment.rollout?.target == version {
            state.promotedAt = promoted
            state.lastProgressAt = max(state.lastProgressAt, promoted)
            state.awaitingPromotion = false
        }
        return state
    }

    /// Deploying under `state`; the first step of an update is an event.
    private static func start(_ deployment: inout Deployment, version: Int, state: RolloutState, at now: Timestamp) {
        if deployment.rollout?.target != version {
            deployment.record(
                DeploymentEvent(at: now, version: version, message: "update to version \(version) started (\(state.strategy.rawValue))"))
        }
        deployment.status = .deploying
        deployment.rollout = state
    }

    /// A deployment placed directly (its first version, or no rollout): Running once every
    /// instance of `version` is up (`up`), Deploying until then.
    public static func direct(
        _ deployment: inout Deployment, version: Int, up: Bool, health: [HealthSummary], at now: Timestamp
    ) -> Bool {
        guard deployment.latest.number == version, deployment.status != .paused, deployment.status != .failed else { return false }
        let healthChanged = deployment.health != health
        deployment.health = health
        if up {
            // Running and RolledBack are both settled on this version: nothing to record.
            let settled = deployment.status == .running || deployment.status == .rolledBack
            guard !settled || deployment.rollbackTarget != version else { return healthChanged }
            deployment.status = .running
            deployment.markStable(version)
            deployment.record(DeploymentEvent(at: now, version: version, message: "version \(version) running"))
            return true
        }
        guard deployment.status != .deploying else { return healthChanged }
        deployment.status = .deploying
        return true
    }

    /// A batch deployment: Running once validated and started, and each run in `ended` finished
    /// with its outcome (`complete` or `failed: …`).
    public static func runs(_ deployment: inout Deployment, ended: [(run: Int, outcome: RunOutcome)], at now: Timestamp) -> Bool {
        var changed = deployment.status == .deploying
        if changed { deployment.status = .running }
        for (run, outcome) in ended { changed = deployment.finishRun(run, outcome: outcome, at: now) || changed }
        return changed
    }

    /// The runs among `runs` that ended: every instance complete, or one failed for good.
    /// `statuses` are the deployment's instances.
    public static func endedRuns(_ runs: [(run: BatchRun, instances: [DesiredInstance])], statuses: [InstanceStatus])
        -> [(run: Int, outcome: RunOutcome)]
    {
        var ended: [(run: Int, outcome: RunOutcome)] = []
        for (run, instances) in runs {
            let hashes = Set(instances.map(\.specHash))
            let mine = statuses.filter { hashes.contains($0.specHash) }
            let failed = mine.lazy.compactMap { status -> String? in
                if case .failed(let reason, nil) = status.phase { return "\(status.id): \(reason)" }
                return nil
            }.first
            if let failed {
                ended.append((run.number, .failed(reason: failed)))
            } else if mine.count == instances.count, mine.allSatisfy({ $0.phase == .complete }) {
                ended.append((run.number, .complete))
            }
        }
        return ended
    }

    /// Per version: instances desired now, placed (with a container), healthy, unhealthy and lost.
    public static func healthSummaries(desired: [DesiredInstance], statuses: [InstanceStatus], signal: UpdatePolicy.HealthSignal)
        -> [HealthSummary]
    {
        let versions = Set(desired.map(\.version)).union(statuses.map(\.version)).sorted()
        return versions.map { version in
            let placed = statuses.filter { $0.version == version && $0.container != nil }
            let healthy = placed.filter { RolloutPlanner.isHealthy($0, signal: signal) }.count
            let lost = placed.filter { if case .lost = $0.phase { true } else { false } }.count
            return HealthSummary(
                version: version, desired: desired.filter { $0.version == version }.count, placed: placed.count, healthy: healthy,
                unhealthy: placed.count - healthy - lost, lost: lost)
        }
    }
}
