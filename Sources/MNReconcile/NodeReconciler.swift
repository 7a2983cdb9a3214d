public import MNCore

/// The node reconciler: desired instances + observed containers + `now` → a ``NodePlan``.
///
/// Pure and deterministic: no clock, I/O or randomness; the same input gives the same
/// plan, whatever the order of `observed`. The rules (seed 004, Harmony's roll-forward):
/// - a live container carrying an instance's identity and desired spec hash is left alone;
///   nothing the runtime reports about its configuration is compared;
/// - a changed spec hash replaces the exact old container by id: stop with its own signal
///   and grace, remove, start the new spec;
/// - a down instance restarts as its restart policy says; a batch instance that exited 0
///   is complete;
/// - containers of instances no longer desired, duplicates and stale leftovers are stopped
///   by id; containers without mn's key label, or labelled for another node, are never touched;
/// - failures are reported, never reverted.
public enum NodeReconciler {
    /// Everything one reconcile looks at.
    public struct Input: Hashable, Sendable {
        /// The node being reconciled: only containers labelled for it are considered.
        public var node: NodeID
        /// Instances that should run on this node, across all deployments.
        public var desired: [DesiredInstance]
        /// Every container the runtime reports on this node (foreign ones are ignored).
        public var observed: [ObservedContainer]
        /// Records returned by the previous plan (missing ones start fresh).
        public var records: [InstanceRecord]
        /// Deployments that are paused: their instances are reported, never acted on.
        public var frozen: Set<DeploymentKey>
        public var now: Timestamp

        /// Creates an input.
        public init(
            node: NodeID, desired: [DesiredInstance], observed: [ObservedContainer], records: [InstanceRecord] = [],
            frozen: Set<DeploymentKey> = [], now: Timestamp
        ) {
            self.node = node
            self.desired = desired
            self.observed = observed
            self.records = records
            self.frozen = frozen
            self.now = now
        }
    }

    /// Decides what to do on one node.
    public static func reconcile(_ input: Input) -> NodePlan {
        var builder = PlanBuilder(node: input.node, now: input.now)
        // Containers of frozen (paused) deployments are neither acted on nor counted as strays.
        let managed = input.observed.filter { container in
            container.isManaged(by: input.node)
                && !input.frozen.contains(DeploymentKey(container.labels[ContainerLabel.deploymentKey] ?? ""))
        }.sorted(by: containerOrder)
        let desiredIDs = Set(input.desired.map(\.id))
        var byInstance: [InstanceID: [ObservedContainer]] = [:]
        for container in managed {
            guard let id = container.instanceID else {
                builder.stop(container, .unrecognized)
                continue
            }
            if desiredIDs.contains(id) {
                byInstance[id, default: []].append(container)
            } else {
                builder.stop(container, .notDesired)
            }
        }
        // Contradictory input (two records or two desired entries for one instance) is
        // resolved by a fixed order, so the plan never depends on list order.
        var previous: [InstanceID: InstanceRecord] = [:]
        for record in input.records.sorted(by: recordOrder) where previous[record.id] == nil { previous[record.id] = record }

        var seen: Set<InstanceID> = []
        for instance in input.desired.sorted(by: desiredOrder) where seen.insert(instance.id).inserted {
            var record = previous[instance.id].flatMap { $0.specHash == instance.specHash ? $0 : nil }
                ?? InstanceRecord(id: instance.id, specHash: instance.specHash)
            if record.restartPolicy != instance.restart {
                record.exhausted = false
                record.restartPolicy = instance.restart
            }
            // Only the last `attempts` restarts can matter to the policy (and the last one
            // anchors the next delay); keeping them by count, not by time, keeps plans exact.
            record.restarts = Array(record.restarts.sorted().suffix(max(1, instance.restart.attempts)))
            if input.frozen.contains(instance.id.key) {
                report(frozen: instance, observed: input.observed, node: input.node, record: record, into: &builder)
            } else {
                reconcile(instance, containers: byInstance[instance.id] ?? [], record: record, into: &builder)
            }
        }
        return builder.plan()
    }

    /// Desired entries by id, then spec hash, version and role.
    static func desiredOrder(_ a: DesiredInstance, _ b: DesiredInstance) -> Bool {
        (a.id, a.specHash, a.version, a.role.rawValue) < (b.id, b.specHash, b.version, b.role.rawValue)
    }

    /// Records by id, then by their canonical JSON: a total order.
    static func recordOrder(_ a: InstanceRecord, _ b: InstanceRecord) -> Bool {
        if a.id != b.id { return a.id < b.id }
        return CanonicalJSON.bytes(of: a).lexicographicallyPrecedes(CanonicalJSON.bytes(of: b))
    }

    /// Running and paused first, then by start time and id: the first live one is kept.
    static func containerOrder(_ a: ObservedContainer, _ b: ObservedContainer) -> Bool {
        let rank = { (c: ObservedContainer) in c.isAlive ? 0 : 1 }
        let started = { (c: ObservedContainer) in c.startedAt?.milliseconds ?? Int64.max }
        return (rank(a), started(a), a.id.rawValue) < (rank(b), started(b), b.id.rawValue)
    }

    /// A paused deployment's instance: reported as it stands, with no action and no wake-up.
    private static func report(
        frozen instance: DesiredInstance, observed: [ObservedContainer], node: NodeID, record: InstanceRecord, into builder: inout PlanBuilder
    ) {
        let live = observed.filter {
            $0.isManaged(by: node) && $0.instanceID == instance.id && $0.specHash == instance.specHash && $0.isAlive
        }.sorted(by: containerOrder).first
        builder.report(instance, live == nil ? .pending : .running, container: live, record: record)
    }

    private static func reconcile(
        _ instance: DesiredInstance, containers: [ObservedContainer], record: InstanceRecord, into builder: inout PlanBuilder
    ) {
        var record = record
        let current = containers.filter { $0.specHash == instance.specHash }
        let stale = containers.filter { $0.specHash != instance.specHash }

        // A live container of the desired spec: leave it alone, retire everything else.
        if let keeper = current.first(where: \.isAlive) {
            for other in current where other.id != keeper.id { builder.stop(other, .duplicate) }
            for old in stale { builder.stop(old, .superseded) }
            record.started = true
            record.downSince = nil
            record.lastError = nil
            record.exhausted = false
            builder.report(instance, .running, container: keeper, record: record)
            return
        }

        // The spec changed under a live container: replace that exact container by id.
        if let old = stale.first(where: \.isAlive) {
            for other in containers where other.id != old.id {
                builder.stop(other, other.specHash == instance.specHash ? .duplicate : .superseded)
            }
            builder.add(.replace(ReplaceContainer(old: StopContainer(old, reason: .superseded), new: StartContainer(instance: instance, node: builder.node))))
            record.started = true
            builder.report(instance, .pending, container: nil, record: record)
            return
        }

        // Nothing alive. Old-spec leftovers go; a stopped container of the desired spec is reused.
        for old in stale { builder.stop(old, .superseded) }
        let reusable = current.sorted(by: { ($0.finishedAt?.milliseconds ?? 0, $0.id.rawValue) > ($1.finishedAt?.milliseconds ?? 0, $1.id.rawValue) })
        for extra in reusable.dropFirst() { builder.stop(extra, .duplicate) }
        let candidate = reusable.first

        if let candidate, !instance.jobType.isLongRunning, candidate.state == .exited, candidate.exitCode == 0 {
            record.completed = true
        }
        if record.completed && !instance.jobType.isLongRunning {
            builder.report(instance, .complete, container: candidate, record: record)
            return
        }
        guard record.started || candidate != nil else {
            // Never placed for this spec: a first start is not a restart.
            record.started = true
            builder.add(.start(StartContainer(instance: instance, node: builder.node)))
            builder.report(instance, .pending, container: nil, record: record)
            return
        }
        guard !record.exhausted else {
            builder.report(instance, .failed(reason: record.lastError ?? "restart policy exhausted", retryAt: nil), container: candidate, record: record)
            return
        }

        let downSince = candidate?.finishedAt ?? record.downSince ?? builder.now
        record.started = true
        record.downSince = downSince
        switch RestartDecision.decide(policy: instance.restart, restarts: record.restarts, downSince: downSince, now: builder.now) {
        case .restartNow(let attempt):
            record.restarts.append(builder.now)
            if let candidate {
                builder.add(.restart(RestartContainer(container: candidate.id, instance: instance.id, attempt: attempt)))
            } else {
                builder.add(.start(StartContainer(instance: instance, node: builder.node)))
            }
            builder.report(instance, .pending, container: candidate, record: record)
        case .wait(let until):
            builder.wake(at: until)
            let phase: InstancePhase = record.lastError.map { .failed(reason: $0, retryAt: until) } ?? .restarting(at: until)
            builder.report(instance, phase, container: candidate, record: record)
        case .exhausted(let reason):
            record.exhausted = true
            record.lastError = record.lastError.map { "\($0); \(reason)" } ?? reason
            builder.report(instance, .failed(reason: record.lastError ?? reason, retryAt: nil), container: candidate, record: record)
        }
    }
}

/// Collects a plan's parts and puts them in their deterministic order.
struct PlanBuilder {
    let node: NodeID
    let now: Timestamp
    private var actions: [NodeAction] = []
    private var statuses: [InstanceStatus] = []
    private var records: [InstanceRecord] = []
    private var requeueAt: Timestamp?

    init(node: NodeID, now: Timestamp) {
        self.node = node
        self.now = now
    }

    mutating func add(_ action: NodeAction) { actions.append(action) }

    mutating func stop(_ container: ObservedContainer, _ reason: StopReason) {
        actions.append(.stop(StopContainer(container, reason: reason)))
    }

    mutating func wake(at time: Timestamp) {
        requeueAt = min(requeueAt ?? time, time)
    }

    mutating func report(_ instance: DesiredInstance, _ phase: InstancePhase, container: ObservedContainer?, record: InstanceRecord) {
        statuses.append(
            InstanceStatus(
                id: instance.id, version: instance.version, specHash: instance.specHash, phase: phase,
                container: container?.id, health: container?.health))
        records.append(record)
    }

    func plan() -> NodePlan {
        func rank(_ action: NodeAction) -> Int {
            switch action {
            case .stop: 0
            case .replace: 1
            case .restart: 2
            case .start: 3
            }
        }
        func key(_ action: NodeAction) -> (Int, String, String) {
            (rank(action), action.instance?.description ?? "", action.containerID?.rawValue ?? "")
        }
        return NodePlan(
            actions: actions.sorted { key($0) < key($1) },
            instances: statuses.sorted { $0.id < $1.id },
            records: records.sorted { $0.id < $1.id },
            requeueAt: requeueAt,
            now: now)
    }
}
