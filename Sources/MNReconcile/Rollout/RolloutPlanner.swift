public import MNCore

/// One version of a deployment: its number, its manifest and each agent's instance hash.
///
/// A version is immutable, so its instance hashes (the canonical spec plus topology, hashed)
/// are computed once here rather than in every decision about it.
public struct VersionedManifest: Hashable, Sendable {
    public let version: Int
    public let manifest: Manifest
    /// ``MNCore/Manifest/instanceHash(of:)`` of each agent, in the manifest's order.
    public let instanceHashes: [SpecHash]

    /// Creates a versioned manifest.
    public init(version: Int, manifest: Manifest) {
        self.version = version
        self.manifest = manifest
        self.instanceHashes = manifest.agents.map(manifest.instanceHash(of:))
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
        /// Whether `to` is an operator's rollback (`mnctl deployment rollback`): no canary phase,
        /// no wait for promotion and no minimum healthy time, `max_parallel` kept. Instances of
        /// the old version that still run (a blue-green target not yet retired, containers in
        /// their shutdown delay) are taken back as they are, so discovery serves them at once.
        public var isRollback: Bool
        /// Instances of each agent in both versions instead of their `count`: a system job's
        /// one per node it runs on (units are then numbered 0..<n, one per node).
        public var instancesPerAgent: Int?

        /// Creates an input.
        public init(
            from: VersionedManifest?, to: VersionedManifest, state: RolloutState, instances: [InstanceStatus], now: Timestamp,
            isRevert: Bool = false, isRollback: Bool = false, instancesPerAgent: Int? = nil
        ) {
            self.isRollback = isRollback
            self.instancesPerAgent = instancesPerAgent
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
    ///
    /// Linear in the number of instances: units are visited per agent by index (in the order
    /// of their names, `agent/index`, which is the order batches go in), and the desired
    /// instances come out already sorted.
    public static func plan(_ input: Input) -> Plan {
        let to = input.to
        var policy = to.manifest.policies.update
        let now = input.now
        var state = input.state
        state.strategy = strategy(from: input.from?.manifest, to: to.manifest)
        if input.isRevert || input.isRollback {
            if state.strategy == .canary { state.strategy = .rolling }
            policy.autoPromote = true
        }
        if input.isRevert { policy.maxParallel = Int.max }
        if input.isRollback { policy.minHealthyMs = 0 }
        var table = UnitTable(from: input.from, to: to, strategy: state.strategy, state: state, perAgent: input.instancesPerAgent)
        let changed = table.changed

        if state.strategy == .blueGreen, let conflict = sideBySideConflicts(from: input.from, to: to).first {
            // Nothing of the target starts: the old version keeps serving.
            state.awaitingPromotion = false
            state.waitingFor = ""
            state.deadline = nil
            return Plan(desired: table.oldInstances(), state: state, outcome: .failed(reason: conflict), requeueAt: nil)
        }

        // Health of each changed unit's new instance, from the reports.
        table.readHealth(input.instances, signal: policy.healthCheck)
        for unit in changed {
            if table.isHealthy(unit) {
                if table[unit].healthySince == nil { table[unit].healthySince = now }
            } else {
                table[unit].healthySince = nil
            }
            if let since = table[unit].healthySince, now.milliseconds(since: since) >= Int64(policy.minHealthyMs), !table[unit].done {
                table[unit].done = true
                state.lastProgressAt = now
            }
        }

        // The first wave (canaries, or the whole blue-green target) waits for promotion: by an
        // operator, or by itself with auto_promote once every instance in it is done. It is
        // always a prefix of the changed units.
        let firstWaveCount =
            switch state.strategy {
            case .rolling: 0
            case .canary: min(policy.canary, changed.count)
            case .blueGreen: changed.count
            }
        let firstWave = changed[..<firstWaveCount]
        // Done, and still healthy now: a canary that turned unhealthy after its min_healthy_ms
        // holds the promotion back (and the progress deadline runs again).
        let firstWaveDone = firstWave.allSatisfy { table[$0].done && table[$0].healthySince != nil }
        if !firstWave.isEmpty && state.promotedAt == nil && firstWaveDone && (policy.autoPromote || state.promotionRequestedAt != nil) {
            state.promotedAt = now
            state.lastProgressAt = now
        }
        let promoted = firstWave.isEmpty || state.promotedAt != nil
        state.awaitingPromotion = !promoted && firstWaveDone

        // The batch in flight: placed, not done. Start the next batch only when it is empty.
        var inFlight = changed.filter { table[$0].placedAt != nil && !table[$0].done }
        // A new instance on a node that is down is unavailable, not unhealthy: its healthy
        // deadline counts from when it is placed again (rescheduled, or its node back).
        for unit in inFlight where table.isLost(unit) { table[unit].placedAt = now }
        if inFlight.isEmpty {
            let (eligible, width) = promoted ? (changed[...], policy.maxParallel) : (firstWave, firstWaveCount)
            for unit in eligible {
                guard inFlight.count < width else { break }
                guard !table[unit].done && table[unit].placedAt == nil else { continue }
                table[unit].placedAt = now
                inFlight.append(unit)
            }
        }

        let desired = table.desiredInstances(firstWaveCount: firstWaveCount, promoted: promoted)
        table.store(into: &state)

        // Deadlines and what we wait for.
        var requeue: [Timestamp] = []
        for unit in inFlight {
            guard let placed = table[unit].placedAt else { continue }
            if let failure = table.failure(unit) {
                // Its restart policy ran out (mode fail): no later report can make it healthy.
                return finished(desired, state, .failed(reason: "\(table.name(of: unit)) failed: \(failure)"))
            }
            if let since = table[unit].healthySince {
                requeue.append(since.adding(ms: Int64(policy.minHealthyMs)))
            } else {
                let deadline = placed.adding(ms: Int64(policy.healthyDeadlineMs))
                if now >= deadline {
                    return finished(
                        desired, state,
                        .failed(reason: "\(table.name(of: unit)) was not healthy within healthy_deadline_ms (\(policy.healthyDeadlineMs) ms)"))
                }
                requeue.append(deadline)
            }
        }
        if promoted && changed.allSatisfy({ table[$0].done }) {
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
        var waiting = inFlight.map {
            table.isLost($0)
                ? "\(table.name(of: $0)) on a node that is down"
                : table[$0].healthySince == nil ? "\(table.name(of: $0)) to become healthy" : "\(table.name(of: $0)) to stay healthy"
        }
        if !promoted {
            waiting += firstWave.filter { table[$0].done && table[$0].healthySince == nil }.map { "\(table.name(of: $0)) to be healthy again" }
        }
        return progressing(desired, state, waitingFor: waiting.joined(separator: ", "), deadline: progressDeadline, requeue: requeue)
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
}
