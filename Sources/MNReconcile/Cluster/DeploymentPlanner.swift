public import MNCore

/// One deployment's decision: which of its versions run now and how (a rollout, a direct
/// placement, batch runs, or held back), and afterwards how its record changes. Pure.
///
/// The agent (and later the cluster controller) asks ``decide(_:version:failedValidation:statuses:now:)``
/// for each deployment, runs the instances, then stores what ``record(_:statuses:in:at:)``
/// makes of the record: the deployment state machine of ``DeploymentTransitions``.
public enum DeploymentPlanner {
    /// How a deployment runs in this decision.
    public enum Mode: Sendable {
        /// An update from its stable version to `version`, stepped by the ``RolloutPlanner``.
        case rollout(version: Int, plan: RolloutPlanner.Plan, signal: UpdatePolicy.HealthSignal)
        /// `version` placed whole: the first version, or a settled one.
        case direct(version: Int, signal: UpdatePolicy.HealthSignal)
        /// A batch or sysbatch deployment: its unfinished runs, each with its instances.
        case batch(runs: [(run: BatchRun, instances: [DesiredInstance])])
        /// `version` failed validation: nothing of it starts, the stable version keeps running
        /// as it was (frozen when there is none).
        case held(version: Int)
    }

    /// A decision for one deployment.
    public struct Decision: Sendable {
        public var key: DeploymentKey
        public var mode: Mode
        /// The instances to run now, sorted.
        public var instances: [DesiredInstance]
        /// Paused, or its update failed: its instances are reported but never acted on.
        public var frozen: Bool
        /// When to decide again even if nothing changes (min-healthy ends, deadlines).
        public var requeueAt: Timestamp?
    }

    /// Decides for `deployment`, which should run version `number`. `failedValidation`: that
    /// version was found unfit (now, or before), or is held back (not checked yet, or added
    /// while paused): the stable version runs as it is. `statuses` are the deployment's instances as
    /// last reported. `instancesPerAgent` replaces every version's agent counts (a system
    /// job's: one per node it runs on).
    public static func decide(
        _ deployment: Deployment, version number: Int, failedValidation: Bool, statuses: [InstanceStatus], now: Timestamp,
        instancesPerAgent perAgent: Int? = nil
    ) -> Decision {
        let key = deployment.key
        guard let target = deployment.version(number) else {
            return Decision(key: key, mode: .held(version: number), instances: [], frozen: true, requeueAt: nil)
        }
        let stable = deployment.stable(before: number)
        if !target.manifest.type.isLongRunning {
            // Batch: every unfinished run's instances; an older run finishes, it is not replaced.
            // A version that failed validation has its run held back until it passes.
            var runs: [(run: BatchRun, instances: [DesiredInstance])] = []
            for run in deployment.runs where !run.isFinished && !(failedValidation && run.version == number) {
                guard let version = deployment.version(run.version) else { continue }
                runs.append((run, version.manifest.desiredInstances(version: run.version, run: run.number, perAgent: perAgent)))
            }
            return Decision(
                key: key, mode: .batch(runs: runs), instances: runs.flatMap(\.instances), frozen: deployment.status == .paused,
                requeueAt: nil)
        }
        if failedValidation {
            return Decision(
                key: key, mode: .held(version: number), instances: stable?.manifest.desiredInstances(version: stable?.number ?? 0, perAgent: perAgent) ?? [],
                frozen: stable == nil || deployment.status == .paused, requeueAt: nil)
        }
        // Failed (by a deadline, or by an operator): nothing more is done until a new version.
        let frozen = deployment.status == .paused || deployment.status == .failed
        let signal = target.manifest.policies.update.healthCheck
        guard let stable else {
            return Decision(
                key: key, mode: .direct(version: number, signal: signal), instances: target.manifest.desiredInstances(version: number, perAgent: perAgent),
                frozen: frozen, requeueAt: nil)
        }
        let state = deployment.rollout.flatMap { $0.target == number ? $0 : nil } ?? RolloutState(target: number, now: now)
        let plan = RolloutPlanner.plan(
            .init(
                from: VersionedManifest(version: stable.number, manifest: stable.manifest),
                to: VersionedManifest(version: number, manifest: target.manifest), state: state, instances: statuses, now: now,
                isRevert: target.isAutoRevert, isRollback: target.isRollback, instancesPerAgent: perAgent))
        return Decision(
            key: key, mode: .rollout(version: number, plan: plan, signal: signal), instances: plan.desired, frozen: frozen,
            requeueAt: plan.requeueAt)
    }

    /// What `decision` makes of the deployment's record once its instances ran and reported
    /// `statuses` (the deployment's own): rollout progress, success (once nothing it retires is
    /// reported any more) or failure; Running once a direct deployment is up; finished batch runs. Returns whether the record changed. A
    /// frozen or held deployment's record is left as it is.
    public static func record(_ decision: Decision, statuses: [InstanceStatus], in deployment: inout Deployment, at now: Timestamp)
        -> Bool
    {
        guard !decision.frozen else { return false }
        switch decision.mode {
        case .held:
            return false
        case .batch(let runs):
            let ended = DeploymentTransitions.endedRuns(runs, statuses: statuses)
            guard !ended.isEmpty || deployment.status == .deploying else { return false }
            return DeploymentTransitions.runs(&deployment, ended: ended, at: now)
        case .rollout(let version, let plan, let signal):
            let health = DeploymentTransitions.healthSummaries(desired: plan.desired, statuses: statuses, signal: signal)
            // Done once the nodes also stopped what the update retires: a slot still reported
            // but no longer desired is an old instance on its way out.
            var outcome = plan.outcome
            if case .succeeded = outcome {
                let desired = Set(plan.desired.map(\.slot))
                if !statuses.allSatisfy({ desired.contains($0.slot) }) { outcome = .progressing(waitingFor: "the old instances to stop", deadline: nil) }
            }
            return DeploymentTransitions.rollout(&deployment, version: version, state: plan.state, outcome: outcome, health: health, at: now)
        case .direct(let version, let signal):
            // Up: every desired instance reported healthy, and nothing of another version left.
            let healthy = Set(statuses.filter { RolloutPlanner.isHealthy($0, signal: signal) }.map(\.slot))
            let up =
                !decision.instances.isEmpty && decision.instances.allSatisfy { healthy.contains($0.slot) }
                && statuses.allSatisfy { $0.version == version }
            let health = DeploymentTransitions.healthSummaries(desired: decision.instances, statuses: statuses, signal: signal)
            return DeploymentTransitions.direct(&deployment, version: version, up: up, health: health, at: now)
        }
    }

    /// The step `decision` is about to take, stored before the node acts on it (see
    /// ``DeploymentTransitions/intend(_:version:state:at:)``): only an unfrozen rollout has one.
    public static func intend(_ decision: Decision, in deployment: inout Deployment, at now: Timestamp) -> Bool {
        guard !decision.frozen, case .rollout(let version, let plan, _) = decision.mode else { return false }
        return DeploymentTransitions.intend(&deployment, version: version, state: plan.state, at: now)
    }

    /// The reason the update to the decided version failed, when this decision fails it (an
    /// `auto_revert` follows).
    public static func failure(of decision: Decision) -> (version: Int, reason: String)? {
        guard !decision.frozen, case .rollout(let version, let plan, _) = decision.mode, case .failed(let reason) = plan.outcome else {
            return nil
        }
        return (version, reason)
    }
}
