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
        /// The previous plan's ``NodePlan/draining``.
        public var draining: [ContainerID: Timestamp]
        /// The services that pass, for instances with `requires_services`; `nil`: not read
        /// (no desired instance requires any), nothing waits.
        public var services: ServiceAvailability?

        /// Creates an input.
        public init(
            node: NodeID, desired: [DesiredInstance], observed: [ObservedContainer], records: [InstanceRecord] = [],
            frozen: Set<DeploymentKey> = [], now: Timestamp, draining: [ContainerID: Timestamp] = [:],
            services: ServiceAvailability? = nil
        ) {
            self.services = services
            self.node = node
            self.desired = desired
            self.observed = observed
            self.records = records
            self.frozen = frozen
            self.now = now
            self.draining = draining
        }
    }

    /// Decides what to do on one node.
    ///
    /// Linear in the number of instances when `desired` and `records` come sorted by instance
    /// (as plans and the planners give them); otherwise they are sorted first. Containers are
    /// found by the identity their labels were parsed to once, per agent by instance index.
    public static func reconcile(_ input: Input) -> NodePlan {
        var builder = PlanBuilder(
            node: input.node, now: input.now, instances: input.desired.count, draining: input.draining, services: input.services)
        let frozen = input.frozen
        func isFrozen(_ key: DeploymentKey?) -> Bool { !frozen.isEmpty && frozen.contains(key ?? "") }

        // Contradictory input (two records or two desired entries for one slot) is resolved
        // by a fixed order, so the plan never depends on list order.
        let desired = isInDesiredOrder(input.desired) ? input.desired : input.desired.sorted(by: desiredOrder)
        let records = isSortedByID(input.records) ? input.records : input.records.sorted { $0.id < $1.id }

        // Containers are indexed by the instance they name; `claimed` says which were taken by
        // a desired instance (the rest are strays). Those of frozen (paused) deployments are
        // indexed, so that their instances report them, but never acted on or counted as strays.
        let observed = input.observed
        var byInstance = ContainerIndex(desired: desired, containers: observed.count)
        var claimed = [Bool?](repeating: nil, count: observed.count)
        for container in observed.indices {
            guard observed[container].isManaged(by: input.node) else { continue }
            let frozenKey = isFrozen(observed[container].identity.key)
            guard let id = observed[container].instanceID else {
                if !frozenKey { builder.stop(observed[container], .unrecognized) }
                continue
            }
            if !frozenKey { claimed[container] = false }
            byInstance.add(container, observed[container], for: id)
        }

        var nextRecord = 0
        var containers: [ObservedContainer] = []

        var start = 0
        while start < desired.count {
            let id = desired[start].id
            // This instance's slots, in desired order: `wanted`, the first of each spec hash.
            var end = start + 1
            while end < desired.count && desired[end].id == id { end += 1 }
            let slots = start..<end
            start = end
            // Its records.
            while nextRecord < records.count && records[nextRecord].id < id { nextRecord += 1 }
            let recordsStart = nextRecord
            while nextRecord < records.count && records[nextRecord].id == id { nextRecord += 1 }

            // The steady case, most instances on most passes: one slot, and one container, alive
            // and of its spec. It is kept as it is (what the general case below does too).
            if slots.count == 1, !isFrozen(id.key), let only = byInstance.onlyContainer(of: id),
                byInstance.isAlive(only, withSpec: desired[slots.lowerBound].specHash)
            {
                claimed[only] = true
                keep(
                    desired, slots.lowerBound, container: byInstance.id(of: only), health: byInstance.health(of: only),
                    records: records, recordsStart..<nextRecord, into: &builder)
                continue
            }
            let wanted = desired[slots]
            let mineRecords = records[recordsStart..<nextRecord]

            // Its containers, running and paused first, then by start time and id.
            containers.removeAll(keepingCapacity: true)
            for container in byInstance.containers(of: id) {
                containers.append(observed[container])
                claimed[container] = true
            }
            if containers.count > 1 { containers.sort(by: containerOrder) }

            // Live containers of a spec no instance wants any more: each can be replaced by id
            // for a slot that has nothing alive; the rest are stopped below.
            func isWanted(_ hash: SpecHash?) -> Bool {
                let hash = hash ?? ""
                return wanted.contains { $0.specHash == hash }
            }
            var replaceable = containers.filter { !isWanted($0.specHash) && $0.isAlive }
            var replaced: [ContainerID] = []
            for slot in wanted.indices where slot == wanted.startIndex || wanted[slot].specHash != wanted[slot - 1].specHash {
                let instance = wanted[slot]
                let record = record(for: instance, in: mineRecords)
                let mine =
                    containers.allSatisfy { $0.specHash == instance.specHash }
                    ? containers : containers.filter { $0.specHash == instance.specHash }
                if isFrozen(instance.id.key) {
                    report(frozen: instance, containers: mine, record: record, into: &builder)
                } else if let old = reconcile(instance, containers: mine, replaceable: &replaceable, record: record, into: &builder) {
                    replaced.append(old)
                }
            }
            if !isFrozen(id.key) {
                for stale in containers where !isWanted(stale.specHash) && !replaced.contains(stale.id) {
                    builder.stop(stale, .superseded)
                }
            }
        }
        // Containers of instances no longer desired.
        for index in observed.indices where claimed[index] == false { builder.stop(observed[index], .notDesired) }
        return builder.plan()
    }

    /// The record `instance`'s slot starts this pass with: its previous one (or a fresh one),
    /// under the instance's restart policy, with the restarts that policy can still count.
    private static func record(for instance: DesiredInstance, in records: ArraySlice<InstanceRecord>) -> InstanceRecord {
        var record = previousRecord(for: instance, in: records) ?? InstanceRecord(id: instance.id, specHash: instance.specHash)
        if record.restartPolicy != instance.restart {
            record.exhausted = false
            record.restartPolicy = instance.restart
        }
        // Only the last `attempts` restarts can matter to the policy (and the last one
        // anchors the next delay); keeping them by count, not by time, keeps plans exact.
        let keep = max(1, instance.restart.attempts)
        if record.restarts.count > keep || !record.restarts.isSorted {
            record.restarts = Array(record.restarts.sorted().suffix(keep))
        }
        return record
    }

    /// `desired[slot]`, whose one container is alive and of its spec: as ``keep(_:container:health:record:into:)``,
    /// but a record that would stay as it is (most, on most passes) is handed on without
    /// copying the instance or the record.
    private static func keep(
        _ desired: [DesiredInstance], _ slot: Int, container: ContainerID, health: ObservedContainer.Health,
        records: [InstanceRecord], _ mine: Range<Int>, into builder: inout PlanBuilder
    ) {
        if mine.count == 1, records[mine.lowerBound].specHash == desired[slot].specHash,
            records[mine.lowerBound].isKept(under: desired[slot].restart)
        {
            builder.report(
                desired[slot].id, version: desired[slot].version, specHash: desired[slot].specHash, .running, container: container,
                health: health, record: records[mine.lowerBound])
        } else {
            let instance = desired[slot]
            keep(instance, container: container, health: health, record: record(for: instance, in: records[mine]), into: &builder)
        }
    }

    /// A live container of the slot's spec: left alone, and its record says it runs.
    private static func keep(
        _ instance: DesiredInstance, container: ContainerID, health: ObservedContainer.Health, record: InstanceRecord,
        into builder: inout PlanBuilder
    ) {
        var record = record
        record.started = true
        record.downSince = nil
        record.lastError = nil
        record.exhausted = false
        builder.report(instance, .running, container: container, health: health, record: record)
    }

    /// The record of `instance`'s slot among its instance's records: the first in record order.
    private static func previousRecord(for instance: DesiredInstance, in records: ArraySlice<InstanceRecord>) -> InstanceRecord? {
        var found: Int?
        for index in records.indices where records[index].specHash == instance.specHash {
            if let current = found, !recordOrder(records[index], records[current]) { continue }
            found = index
        }
        return found.map { records[$0] }
    }

    /// Whether `desired` is in ``desiredOrder`` already. The fields are read in place: passing
    /// whole instances to a comparator copies them, which cost more than the rest of a pass.
    static func isInDesiredOrder(_ desired: [DesiredInstance]) -> Bool {
        for index in desired.indices.dropFirst() {
            let id = desired[index].id
            let before = desired[index - 1].id
            if id != before {
                if id < before { return false }
                continue
            }
            let hash = desired[index].specHash
            let hashBefore = desired[index - 1].specHash
            if hash != hashBefore {
                if hash < hashBefore { return false }
                continue
            }
            let version = desired[index].version
            let versionBefore = desired[index - 1].version
            if version != versionBefore {
                if version < versionBefore { return false }
                continue
            }
            if desired[index].role.rawValue < desired[index - 1].role.rawValue { return false }
        }
        return true
    }

    /// Whether `records` are sorted by instance id already (read in place, as above).
    static func isSortedByID(_ records: [InstanceRecord]) -> Bool {
        records.indices.dropFirst().allSatisfy { !(records[$0].id < records[$0 - 1].id) }
    }

    /// Desired entries by id, then spec hash, version and role.
    static func desiredOrder(_ a: DesiredInstance, _ b: DesiredInstance) -> Bool {
        // Field by field rather than as tuples, which would copy each field first.
        if a.id != b.id { return a.id < b.id }
        if a.specHash != b.specHash { return a.specHash < b.specHash }
        if a.version != b.version { return a.version < b.version }
        return a.role.rawValue < b.role.rawValue
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
        return (rank(a), started(a), a.id) < (rank(b), started(b), b.id)
    }

    /// A paused (or failed) deployment's instance: reported as it stands, with no action and
    /// no wake-up — running, complete, exited (with its exit code, restarts and last error), or
    /// pending when it has no container.
    private static func report(
        frozen instance: DesiredInstance, containers: [ObservedContainer], record: InstanceRecord, into builder: inout PlanBuilder
    ) {
        if let live = containers.first(where: \.isAlive) {
            builder.report(instance, .running, container: live, record: record)
        } else if record.completed {
            builder.report(instance, .complete, container: containers.first, record: record)
        } else if let exited = containers.first(where: { $0.state == .exited }) {
            var reason = "exited" + (exited.exitCode.map { " with code \($0)" } ?? "")
            if !record.restarts.isEmpty { reason += " after \(record.restarts.count) restart\(record.restarts.count == 1 ? "" : "s")" }
            if let error = record.lastError { reason += "; last error: \(error)" }
            builder.report(instance, .failed(reason: reason, retryAt: nil), container: exited, record: record)
        } else {
            builder.report(instance, .pending, container: nil, record: record)
        }
    }

    /// One desired slot (an instance and its spec hash). `containers` are the slot's own;
    /// `replaceable` are live containers of specs no slot of the instance wants. Returns the
    /// container it replaced, if it took one.
    private static func reconcile(
        _ instance: DesiredInstance, containers current: [ObservedContainer], replaceable: inout [ObservedContainer],
        record: InstanceRecord, into builder: inout PlanBuilder
    ) -> ContainerID? {
        var record = record

        // A live container of the desired spec: leave it alone, retire its duplicates.
        if let keeperIndex = current.firstIndex(where: { $0.isAlive }) {
            let keeper = current[keeperIndex]
            for index in current.indices where current[index].id != keeper.id { builder.stop(current[index], .duplicate) }
            keep(instance, container: keeper.id, health: keeper.health, record: record, into: &builder)
            return nil
        }

        // A spec that never ran here (no record of a start, no container of it) and requires a
        // service that does not pass waits (a container it would replace keeps running meanwhile).
        if !record.started, current.isEmpty, let reason = builder.waitReason(for: instance) {
            builder.report(instance, .waiting(reason: reason), container: nil, record: record)
            return replaceable.isEmpty ? nil : replaceable.removeFirst().id
        }

        // The spec changed under a live container: replace that exact container by id.
        if !replaceable.isEmpty {
            let old = replaceable.removeFirst()
            guard builder.mayStop(old) else {
                // Out of discovery first: replaced once its shutdown delay has passed.
                builder.report(instance, .pending, container: nil, record: record)
                return old.id
            }
            for other in current { builder.stop(other, .duplicate) }
            builder.add(
                .replace(
                    ReplaceContainer(
                        old: StopContainer(old, reason: .superseded), new: StartContainer(instance: instance, node: builder.node))))
            record.started = true
            builder.report(instance, .pending, container: nil, record: record)
            return old.id
        }

        // Nothing alive: a stopped container of the desired spec is reused.
        let reusable = current.sorted(by: {
            ($0.finishedAt?.milliseconds ?? 0, $0.id) > ($1.finishedAt?.milliseconds ?? 0, $1.id)
        })
        for extra in reusable.dropFirst() { builder.stop(extra, .duplicate) }
        let candidate = reusable.first

        if let candidate, !instance.jobType.isLongRunning, candidate.state == .exited, candidate.exitCode == 0 {
            record.completed = true
        }
        if record.completed && !instance.jobType.isLongRunning {
            builder.report(instance, .complete, container: candidate, record: record)
            return nil
        }
        guard record.started || candidate != nil else {
            // Never placed for this spec: a first start is not a restart.
            record.started = true
            builder.add(.start(StartContainer(instance: instance, node: builder.node)))
            builder.report(instance, .pending, container: nil, record: record)
            return nil
        }
        guard !record.exhausted else {
            builder.report(
                instance, .failed(reason: record.lastError ?? "restart policy exhausted", retryAt: nil), container: candidate,
                record: record)
            return nil
        }

        let downSince = candidate?.finishedAt ?? record.downSince ?? builder.now
        record.started = true
        record.downSince = downSince
        switch RestartDecision.decide(policy: instance.restart, restarts: record.restarts, downSince: downSince, now: builder.now) {
        case .restartNow(let attempt):
            record.restarts.append(builder.now)
            if let candidate {
                builder.add(
                    .restart(
                        RestartContainer(container: candidate.id, instance: instance.id, specHash: instance.specHash, attempt: attempt)))
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
            // What the last run said, then why no restart comes: "exited with code 127; restarted 3 times …".
            let exit = candidate?.exitCode.map { "exited with code \($0)" }
            record.lastError = [record.lastError, exit, reason].compactMap { $0 }.joined(separator: "; ")
            builder.report(instance, .failed(reason: record.lastError ?? reason, retryAt: nil), container: candidate, record: record)
        }
        return nil
    }
}

/// Collects a plan's parts and puts them in their deterministic order.
struct PlanBuilder {
    let node: NodeID
    let now: Timestamp
    /// When each container's drain began (the previous plan's).
    let wasDraining: [ContainerID: Timestamp]
    /// The services that pass (see ``NodeReconciler/Input/services``).
    let services: ServiceAvailability?
    private var actions: [NodeAction] = []
    private var statuses: [InstanceStatus] = []
    private var records: [InstanceRecord] = []
    private var requeueAt: Timestamp?
    private var draining: [ContainerID: Timestamp] = [:]

    init(node: NodeID, now: Timestamp, instances: Int, draining: [ContainerID: Timestamp] = [:], services: ServiceAvailability? = nil) {
        self.node = node
        self.now = now
        self.wasDraining = draining
        self.services = services
        statuses.reserveCapacity(instances)
        records.reserveCapacity(instances)
    }

    mutating func add(_ action: NodeAction) { actions.append(action) }

    /// Stops `container`, once it has been out of discovery for its shutdown delay.
    mutating func stop(_ container: ObservedContainer, _ reason: StopReason) {
        guard mayStop(container) else { return }
        actions.append(.stop(StopContainer(container, reason: reason)))
    }

    /// Whether `container` may be stopped now: it is not alive, has no shutdown delay, or has
    /// been draining (out of discovery, as it is not reported) for that long. Otherwise its
    /// drain is recorded (from now, if it just began) and a wake-up asked for when it ends.
    mutating func mayStop(_ container: ObservedContainer) -> Bool {
        let delay = container.lifecycle.shutdownDelayMs
        guard container.isAlive, delay > 0 else { return true }
        let since = wasDraining[container.id] ?? now
        let due = since.adding(ms: Int64(delay))
        if now >= due { return true }
        draining[container.id] = since
        wake(at: due)
        return false
    }

    /// Why `instance` may not start yet: the required services it names that do not pass.
    func waitReason(for instance: DesiredInstance) -> String? {
        guard let services, !instance.spec.requiresServices.isEmpty else { return nil }
        let missing = services.unmet(by: instance.spec).required
        guard !missing.isEmpty else { return nil }
        return "waiting for \(missing.count == 1 ? "service" : "services") \(ServiceAvailability.describe(missing)): no passing instance"
    }

    mutating func wake(at time: Timestamp) {
        requeueAt = min(requeueAt ?? time, time)
    }

    mutating func report(_ instance: DesiredInstance, _ phase: InstancePhase, container: ObservedContainer?, record: InstanceRecord) {
        report(instance, phase, container: container?.id, health: container?.health, record: record)
    }

    mutating func report(
        _ instance: DesiredInstance, _ phase: InstancePhase, container: ContainerID?, health: ObservedContainer.Health?,
        record: InstanceRecord
    ) {
        report(
            instance.id, version: instance.version, specHash: instance.specHash, phase, container: container, health: health,
            record: record)
    }

    /// The status of instance `id` of `version` and `specHash`, and the record it keeps. (The
    /// fields one by one, so that a caller holding the instance in an array need not copy it.)
    mutating func report(
        _ id: InstanceID, version: Int, specHash: SpecHash, _ phase: InstancePhase, container: ContainerID?,
        health: ObservedContainer.Health?, record: InstanceRecord
    ) {
        statuses.append(InstanceStatus(id: id, version: version, specHash: specHash, phase: phase, container: container, health: health))
        records.append(record)
    }

    func plan() -> NodePlan {
        // Statuses and records were reported in instance order; only actions need sorting.
        func rank(_ action: NodeAction) -> Int {
            switch action {
            case .stop: 0
            case .replace: 1
            case .restart: 2
            case .start: 3
            }
        }
        let keyed = actions.map { action in
            (key: (rank(action), action.instance?.description ?? "", action.containerID?.rawValue ?? ""), action: action)
        }
        return NodePlan(
            actions: keyed.sorted { $0.key < $1.key }.map(\.action),
            instances: statuses,
            records: records,
            requeueAt: requeueAt,
            now: now,
            draining: draining)
    }
}

extension Array where Element: Comparable {
    /// Whether no element is smaller than the one before it.
    fileprivate var isSorted: Bool {
        indices.dropFirst().allSatisfy { self[$0 - 1] <= self[$0] }
    }
}
