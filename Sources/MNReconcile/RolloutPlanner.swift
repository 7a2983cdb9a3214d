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

/// Where an update stands after a decision.
public enum RolloutOutcome: Hashable, Sendable {
    /// Still going; `waitingFor` says on what, `deadline` when it fails if nothing changes
    /// (none while a healthy first wave waits for promotion).
    case progressing(waitingFor: String, deadline: Timestamp?)
    /// Every changed unit runs the new version, healthy.
    case succeeded
    /// A deadline fired or an instance could not become healthy.
    case failed(reason: String)
}

/// Decides the next step of an update: which instances (old, new, or both side by side) each
/// unit should run. Pure: time is an input, the same input gives the same plan.
///
/// Units are (agent, index). A unit whose instance hash did not change keeps its container;
/// units new in the target are placed at once (blue-green: gated like the rest); units gone
/// from it are dropped (blue-green: once promoted).
///
/// - rolling: changed units go in batches of at most `max_parallel`. The new instance starts
///   beside the old (or, when both publish a host port, in its place); the old is dropped once
///   the new one has been healthy for `min_healthy_ms`; the next batch starts when the whole
///   batch is done.
/// - canary: the first `canary` changed units go first, beside the old, and wait for a
///   promotion (an operator, or `auto_promote` once healthy); then the rest go as in rolling.
/// - blue-green (also any update that changes the topology): every changed unit's new
///   instance starts beside the old at once; promotion retires the whole old version.
///
/// An instance not healthy within `healthy_deadline_ms` of its placement, or no unit finishing
/// within `progress_deadline_ms`, fails the rollout — deadlines always fire, except that a
/// healthy first wave waiting for a person has none.
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
        /// Whether `to` is an automatic revert: it goes back at once, every unit in one batch,
        /// with no canary phase or wait for promotion (Nomad #10882).
        public var isRevert: Bool

        /// Creates an input.
        public init(
            from: VersionedManifest?, to: VersionedManifest, state: RolloutState, instances: [InstanceStatus], now: Timestamp,
            isRevert: Bool = false
        ) {
            self.from = from
            self.to = to
            self.state = state
            self.instances = instances
            self.now = now
            self.isRevert = isRevert
        }
    }

    /// A decision.
    public struct Plan: Hashable, Sendable {
        /// The instances to run, sorted: hand them to the node reconciler.
        public var desired: [DesiredInstance]
        /// The rollout's memory, including what it waits for and its deadline.
        public var state: RolloutState
        public var outcome: RolloutOutcome
        /// When to decide again even if nothing is reported (min-healthy ends, deadlines).
        public var requeueAt: Timestamp?
    }

    /// Decides the next step.
    public static func plan(_ input: Input) -> Plan {
        let to = input.to
        var policy = to.manifest.policies.update
        let now = input.now
        var state = input.state
        state.strategy = strategy(from: input.from?.manifest, to: to.manifest)
        if input.isRevert {
            if state.strategy == .canary { state.strategy = .rolling }
            policy.maxParallel = Int.max
            policy.autoPromote = true
        }
        let newInstances = byUnit(to.manifest.desiredInstances(version: to.version))
        let oldInstances = byUnit(input.from.map { $0.manifest.desiredInstances(version: $0.version) } ?? [])
        let changed = newInstances.keys.filter { key in
            guard let old = oldInstances[key] else { return state.strategy == .blueGreen && !oldInstances.isEmpty }
            return old.specHash != newInstances[key]!.specHash
        }.sorted()

        if state.strategy == .blueGreen, let conflict = sideBySideConflicts(from: input.from?.manifest, to: to.manifest).first {
            // Nothing of the target starts: the old version keeps serving.
            state.awaitingPromotion = false
            state.waitingFor = ""
            state.deadline = nil
            let old = oldInstances.values.sorted { ($0.id, $0.specHash) < ($1.id, $1.specHash) }
            return Plan(desired: old, state: state, outcome: .failed(reason: conflict), requeueAt: nil)
        }

        // Health of each changed unit's new instance, from the reports.
        for key in changed {
            guard let instance = newInstances[key] else { continue }
            let report = input.instances.first { $0.id == instance.id && $0.specHash == instance.specHash }
            if report.map({ isHealthy($0, signal: policy.healthCheck) }) ?? false {
                if state.healthySince[key] == nil { state.healthySince[key] = now }
            } else {
                state.healthySince[key] = nil
            }
            if let since = state.healthySince[key], now.milliseconds(since: since) >= Int64(policy.minHealthyMs), !state.done.contains(key)
            {
                state.done.insert(key)
                state.lastProgressAt = now
            }
        }

        // The first wave (canaries, or the whole blue-green target) waits for promotion: by an
        // operator, or by itself with auto_promote once every instance in it is done.
        let firstWave: [String] =
            switch state.strategy {
            case .rolling: []
            case .canary: Array(changed.prefix(policy.canary))
            case .blueGreen: changed
            }
        // Done, and still healthy now: a canary that turned unhealthy after its min_healthy_ms
        // holds the promotion back (and the progress deadline runs again).
        let firstWaveDone = firstWave.allSatisfy { state.done.contains($0) && state.healthySince[$0] != nil }
        if !firstWave.isEmpty && state.promotedAt == nil && firstWaveDone && policy.autoPromote {
            state.promotedAt = now
            state.lastProgressAt = now
        }
        let promoted = firstWave.isEmpty || state.promotedAt != nil
        state.awaitingPromotion = !promoted && firstWaveDone

        // The batch in flight: placed, not done. Start the next batch only when it is empty.
        var inFlight = changed.filter { state.placedAt[$0] != nil && !state.done.contains($0) }
        if inFlight.isEmpty {
            let (eligible, width) = promoted ? (changed, policy.maxParallel) : (firstWave, firstWave.count)
            for key in eligible where !state.done.contains(key) && state.placedAt[key] == nil && inFlight.count < width {
                state.placedAt[key] = now
                inFlight.append(key)
            }
        }

        let desired = desiredInstances(
            new: newInstances, old: oldInstances, changed: Set(changed), firstWave: Set(firstWave), promoted: promoted, state: state)

        // Deadlines and what we wait for.
        var requeue: [Timestamp] = []
        for key in inFlight {
            guard let placed = state.placedAt[key] else { continue }
            if let since = state.healthySince[key] {
                requeue.append(since.adding(ms: Int64(policy.minHealthyMs)))
            } else {
                let deadline = placed.adding(ms: Int64(policy.healthyDeadlineMs))
                if now >= deadline {
                    return finished(
                        desired, state,
                        .failed(reason: "\(key) was not healthy within healthy_deadline_ms (\(policy.healthyDeadlineMs) ms)"))
                }
                requeue.append(deadline)
            }
        }
        if promoted && changed.allSatisfy(state.done.contains) {
            return finished(desired, state, .succeeded)
        }
        if state.awaitingPromotion {
            // A healthy first wave waits for a person: no deadline runs against it.
            let what =
                state.strategy == .blueGreen
                ? "version \(to.version)" : "\(firstWave.count) healthy canar\(firstWave.count == 1 ? "y" : "ies")"
            return progressing(
                desired, state, waitingFor: "promotion of \(what) (mnctl deployment promote)", deadline: nil, requeue: requeue)
        }
        let progressDeadline = state.lastProgressAt.adding(ms: Int64(policy.progressDeadlineMs))
        if now >= progressDeadline {
            return finished(desired, state, .failed(reason: "no progress within progress_deadline_ms (\(policy.progressDeadlineMs) ms)"))
        }
        requeue.append(progressDeadline)
        var waiting = inFlight.map { state.healthySince[$0] == nil ? "\($0) to become healthy" : "\($0) to stay healthy" }
        if !promoted {
            waiting += firstWave.filter { state.done.contains($0) && state.healthySince[$0] == nil }.map { "\($0) to be healthy again" }
        }
        return progressing(desired, state, waitingFor: waiting.joined(separator: ", "), deadline: progressDeadline, requeue: requeue)
    }

    /// Unchanged units run the new version; changed units run the old until done (kept while
    /// they are a waiting first wave), plus the new once placed; units gone from the target are
    /// kept only by an unpromoted blue-green.
    private static func desiredInstances(
        new: [String: DesiredInstance], old: [String: DesiredInstance], changed: Set<String>, firstWave: Set<String>, promoted: Bool,
        state: RolloutState
    ) -> [DesiredInstance] {
        var desired: [DesiredInstance] = []
        for (key, instance) in new {
            guard changed.contains(key) else {
                desired.append(instance)
                continue
            }
            // Side by side unless both publish a host port: then the old makes way (it is
            // stopped by id, then the new started), still one batch at a time.
            let keepOld = !state.done.contains(key) || (!promoted && firstWave.contains(key))
            if keepOld, let previous = old[key], state.placedAt[key] == nil || canRunSideBySide(previous, instance) {
                desired.append(previous)
            }
            if state.placedAt[key] != nil {
                var placed = instance
                if !promoted { placed.role = state.strategy == .blueGreen ? .candidate : .canary }
                desired.append(placed)
            }
        }
        if state.strategy == .blueGreen && !promoted {
            desired += old.filter { new[$0.key] == nil }.values
        }
        return desired.sorted { ($0.id, $0.specHash) < ($1.id, $1.specHash) }
    }

    private static func finished(_ desired: [DesiredInstance], _ state: RolloutState, _ outcome: RolloutOutcome) -> Plan {
        var state = state
        state.waitingFor = ""
        state.deadline = nil
        return Plan(desired: desired, state: state, outcome: outcome, requeueAt: nil)
    }

    private static func progressing(
        _ desired: [DesiredInstance], _ state: RolloutState, waitingFor: String, deadline: Timestamp?, requeue: [Timestamp]
    ) -> Plan {
        var state = state
        state.waitingFor = waitingFor
        state.deadline = deadline
        return Plan(
            desired: desired, state: state, outcome: .progressing(waitingFor: waitingFor, deadline: deadline), requeueAt: requeue.min())
    }

    private static func byUnit(_ instances: [DesiredInstance]) -> [String: DesiredInstance] {
        Dictionary(instances.map { (unit($0.id), $0) }, uniquingKeysWith: { first, _ in first })
    }
}
