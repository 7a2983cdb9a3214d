public import MNCore

/// One version of a deployment: its number and manifest.
public struct VersionedManifest: Hashable, Sendable {
    public var version: Int
    public var manifest: Manifest

    /// Creates a versioned manifest.
    public init(version: Int, manifest: Manifest) {
        self.version = version
        self.manifest = manifest
    }
}

/// Where a rolling update stands after a decision.
public enum RolloutOutcome: Hashable, Sendable {
    /// Still going; `waitingFor` says on what, `deadline` when it fails if nothing changes
    /// (none while healthy canaries wait for promotion).
    case progressing(waitingFor: String, deadline: Timestamp?)
    /// Every changed unit runs the new version, healthy.
    case succeeded
    /// A deadline fired or an instance could not become healthy.
    case failed(reason: String)
}

/// Decides the next step of a rolling or canary update: which instances (old, new, or both
/// side by side) each unit should run. Pure: time is an input, the same input gives the same plan.
///
/// Units are (agent, index). A unit whose spec did not change keeps its container; new
/// units are placed at once; removed ones are dropped. Changed units go in batches of at most
/// `max_parallel`: the new instance starts beside the old (or, when both publish a host port,
/// in its place), and the old is dropped once the new one has been healthy for
/// `min_healthy_ms`; the next batch starts only when the whole batch is done. An instance not healthy within `healthy_deadline_ms` of its placement, or no unit
/// finishing within `progress_deadline_ms`, fails the rollout — deadlines always fire.
public enum RolloutPlanner {
    /// What a decision looks at.
    public struct Input: Hashable, Sendable {
        /// The version that ran before, if any.
        public var from: VersionedManifest?
        public var to: VersionedManifest
        public var state: RolloutState
        /// What the nodes report for this deployment's instances.
        public var instances: [InstanceStatus]
        public var now: Timestamp

        /// Creates an input.
        public init(from: VersionedManifest?, to: VersionedManifest, state: RolloutState, instances: [InstanceStatus], now: Timestamp) {
            self.from = from
            self.to = to
            self.state = state
            self.instances = instances
            self.now = now
        }
    }

    /// A decision.
    public struct Plan: Hashable, Sendable {
        /// The instances to run, sorted: hand them to the node reconciler.
        public var desired: [DesiredInstance]
        public var state: RolloutState
        public var outcome: RolloutOutcome
        /// When to decide again even if nothing is reported (min-healthy ends, deadlines).
        public var requeueAt: Timestamp?
    }

    /// Decides the next step.
    public static func plan(_ input: Input) -> Plan {
        let to = input.to
        let policy = to.manifest.policies.update
        var state = input.state
        let now = input.now
        let newInstances = Dictionary(
            to.manifest.desiredInstances(version: to.version).map { (unit($0.id), $0) }, uniquingKeysWith: { first, _ in first })
        let oldInstances = Dictionary(
            (input.from.map { $0.manifest.desiredInstances(version: $0.version) } ?? []).map { (unit($0.id), $0) },
            uniquingKeysWith: { first, _ in first })
        let changed = newInstances.keys.filter { key in oldInstances[key].map { $0.specHash != newInstances[key]!.specHash } ?? false }.sorted()

        // Health of each changed unit's new instance, from the reports.
        for key in changed {
            guard let instance = newInstances[key] else { continue }
            let report = input.instances.first { $0.id == instance.id && $0.specHash == instance.specHash }
            let healthy = report.map { isHealthy($0, signal: policy.healthCheck) } ?? false
            if healthy {
                if state.healthySince[key] == nil { state.healthySince[key] = now }
            } else {
                state.healthySince[key] = nil
            }
            if let since = state.healthySince[key], now.milliseconds(since: since) >= Int64(policy.minHealthyMs), !state.done.contains(key) {
                state.done.insert(key)
                state.lastProgressAt = now
            }
        }

        // Canary: the first `canary` changed units go first, beside the old; the rest wait for
        // promotion (by an operator, or at once with auto_promote once the canaries are healthy).
        let canaries = policy.strategy == .canary ? Array(changed.prefix(policy.canary)) : []
        let awaitingPromotion = !canaries.isEmpty && state.promotedAt == nil
        if awaitingPromotion && canaries.allSatisfy(state.done.contains) && policy.autoPromote {
            state.promotedAt = now
            state.lastProgressAt = now
        }
        let promoted = canaries.isEmpty || state.promotedAt != nil
        let eligible = promoted ? changed : canaries

        // The batch in flight: placed, not done. Start the next batch only when it is empty.
        var inFlight = changed.filter { state.placedAt[$0] != nil && !state.done.contains($0) }
        if inFlight.isEmpty {
            let width = promoted ? policy.maxParallel : canaries.count
            for key in eligible where !state.done.contains(key) && state.placedAt[key] == nil && inFlight.count < width {
                state.placedAt[key] = now
                inFlight.append(key)
            }
        }

        // Desired: unchanged and new units run the new version; changed units run the old
        // until done, plus the new once placed.
        var desired: [DesiredInstance] = []
        for (key, instance) in newInstances {
            if changed.contains(key) {
                // Side by side unless both publish a host port: then the old makes way (it is
                // stopped by id, then the new started), still one batch at a time. Canaries keep
                // their old instance until promotion.
                let keepOld = !state.done.contains(key) || (!promoted && canaries.contains(key))
                if keepOld, let old = oldInstances[key], state.placedAt[key] == nil || canRunSideBySide(old, instance) {
                    desired.append(old)
                }
                if state.placedAt[key] != nil {
                    var placed = instance
                    if !promoted { placed.role = .canary }
                    desired.append(placed)
                }
            } else {
                desired.append(instance)
            }
        }
        desired.sort { ($0.id, $0.specHash) < ($1.id, $1.specHash) }

        // Deadlines and what we wait for.
        var requeue: [Timestamp] = []
        for key in inFlight {
            guard let placed = state.placedAt[key] else { continue }
            if let since = state.healthySince[key] {
                requeue.append(since.adding(ms: Int64(policy.minHealthyMs)))
            } else {
                let deadline = placed.adding(ms: Int64(policy.healthyDeadlineMs))
                if now >= deadline {
                    return Plan(
                        desired: desired, state: state,
                        outcome: .failed(reason: "\(key) was not healthy within healthy_deadline_ms (\(policy.healthyDeadlineMs) ms)"),
                        requeueAt: nil)
                }
                requeue.append(deadline)
            }
        }
        if changed.allSatisfy(state.done.contains) && promoted {
            return Plan(desired: desired, state: state, outcome: .succeeded, requeueAt: nil)
        }
        if awaitingPromotion && canaries.allSatisfy(state.done.contains) {
            // Healthy canaries wait for a person: no deadline runs against them.
            return Plan(
                desired: desired, state: state,
                outcome: .progressing(waitingFor: "promotion of \(canaries.count) healthy canar\(canaries.count == 1 ? "y" : "ies")", deadline: nil),
                requeueAt: requeue.min())
        }
        let progressDeadline = state.lastProgressAt.adding(ms: Int64(policy.progressDeadlineMs))
        if now >= progressDeadline {
            return Plan(
                desired: desired, state: state,
                outcome: .failed(reason: "no progress within progress_deadline_ms (\(policy.progressDeadlineMs) ms)"), requeueAt: nil)
        }
        requeue.append(progressDeadline)
        let waiting = inFlight.map { state.healthySince[$0] == nil ? "\($0) to become healthy" : "\($0) to stay healthy" }
        return Plan(
            desired: desired, state: state,
            outcome: .progressing(waitingFor: waiting.joined(separator: ", "), deadline: progressDeadline),
            requeueAt: requeue.min())
    }

    /// Whether two instances of one unit can run at once on a node: not if both publish the
    /// same host port.
    static func canRunSideBySide(_ old: DesiredInstance, _ new: DesiredInstance) -> Bool {
        func published(_ instance: DesiredInstance) -> Set<String> {
            Set(instance.spec.ports.compactMap { port in port.hostPort.map { "\($0)/\(port.transport.rawValue)" } })
        }
        return published(old).isDisjoint(with: published(new))
    }

    /// `agent/index`: a unit of the rollout.
    static func unit(_ id: InstanceID) -> String { "\(id.agent)/\(id.index)" }

    /// Running, and (for `checks`) no check failing or pending.
    public static func isHealthy(_ status: InstanceStatus, signal: UpdatePolicy.HealthSignal) -> Bool {
        guard status.phase == .running else { return false }
        switch signal {
        case .agentStates: return true
        case .checks: return status.health == nil || status.health == ObservedContainer.Health.none || status.health == .healthy
        }
    }
}
