public import MNCore

extension ClusterReconciler {
    /// What node loss does to a placement: an instance placed on a node that is down is *lost*;
    /// once its deployment's `policies.reschedule` allows (the delay after the node went down,
    /// attempts left in the window), it is placed on another node, and its old node's
    /// assignment no longer holds it (that node stops it by id when it is back). Until then, or
    /// when no node fits or no attempt is left, it stays where it is, and its deployment's
    /// ``MNCore/Deployment/lost`` says what happens next. System jobs' instances (one per node,
    /// serving it) and finished batch instances are not moved.
    struct Reschedules {
        /// Nodes that are down, with when their heartbeat expired.
        var down: [NodeID: Timestamp]
        var records: [DeploymentKey: Deployment]
        /// Paused or failed deployments: nothing of them is acted on, so nothing moves.
        var frozen: Set<DeploymentKey>
        /// The status each slot is reported with (one per slot).
        var statuses: [InstanceSlot: InstanceStatus]
        var now: Timestamp

        /// The result: where everything is placed now, per deployment what is lost and what
        /// moved, the copies no node fits, and when a delay ends.
        struct Result {
            var placed: [Placement.Placed]
            var lost: [DeploymentKey: [LostInstance]] = [:]
            var moved: [DeploymentKey: [RescheduleEvent]] = [:]
            var unplaced: [Placement.Unplaced] = []
            var requeueAt: Timestamp?
        }

        func apply(to placed: [Placement.Placed], desired: [InstanceSlot: DesiredInstance], nodes: [NodeInfo]) -> Result {
            var result = Result(placed: [])
            guard !down.isEmpty else {
                result.placed = placed
                return result
            }
            var due: [(Placement.Placed, DesiredInstance, lostAt: Timestamp, attempt: Int)] = []
            for item in placed {
                let slot = InstanceSlot(item.instance, item.specHash)
                guard let since = down[item.node], let instance = desired[slot], let record = records[slot.instance.key],
                    statuses[slot]?.phase != .complete
                else {
                    result.placed.append(item)
                    continue
                }
                guard instance.jobType == .service || instance.jobType == .batch else {
                    result.placed.append(item)
                    result.lost[record.key, default: []].append(
                        LostInstance(
                            instance: instance.id, node: item.node, since: since, rescheduleAt: nil,
                            reason: "a \(instance.jobType.rawValue) job's instance serves its node: it waits for node \(item.node)"))
                    continue
                }
                guard !frozen.contains(record.key) else {
                    result.placed.append(item)
                    result.lost[record.key, default: []].append(
                        LostInstance(
                            instance: instance.id, node: item.node, since: since, rescheduleAt: nil,
                            reason: "the deployment is \(record.status == .paused ? "paused" : "failed"): nothing of it moves until a new version or resume"))
                    continue
                }
                let policy = record.version(instance.version)?.manifest.policies.reschedule ?? .defaults
                let history = record.reschedules.filter { $0.instance == instance.id }
                switch policy.decide(lostAt: since, history: history, now: now) {
                case .reschedule(let at, let attempt) where now >= at:
                    due.append((item, instance, since, attempt))
                case .reschedule(let at, _):
                    result.placed.append(item)
                    result.lost[slot.instance.key, default: []].append(
                        LostInstance(instance: instance.id, node: item.node, since: since, rescheduleAt: at))
                    result.requeueAt = min(result.requeueAt ?? at, at)
                case .exhausted(let attempts, let until):
                    result.placed.append(item)
                    let reopens = until.map { ", the next is allowed at \($0)" } ?? ""
                    result.lost[slot.instance.key, default: []].append(
                        LostInstance(
                            instance: instance.id, node: item.node, since: since, rescheduleAt: nil,
                            reason: "reschedule attempts exhausted (\(attempts) within interval_ms)\(reopens); it waits for node \(item.node)"))
                    if let until { result.requeueAt = min(result.requeueAt ?? until, until) }
                }
            }
            guard !due.isEmpty else { return result }
            // Placed elsewhere with the same rules, around everything that stays.
            let allocations = result.placed.compactMap { item -> Placement.Allocation? in
                guard let instance = desired[InstanceSlot(item.instance, item.specHash)] else { return nil }
                return Placement.Allocation(instance.id, specHash: instance.specHash, spec: instance.spec, on: item.node, devices: item.devices)
            }
            let requests = due.map { item, instance, _, _ in
                Placement.Request(instance, constraints: records[instance.id.key].map { constraints(of: $0, version: instance.version) } ?? [])
            }
            let copies = Placement.place(.init(nodes: nodes, down: Set(down.keys), allocations: allocations, requests: requests))
            var to: [InstanceSlot: Placement.Placed] = [:]
            for copy in copies.placed { to[InstanceSlot(copy.instance, copy.specHash)] = copy }
            var why: [InstanceSlot: String] = [:]
            for missing in copies.unplaced { why[InstanceSlot(missing.instance, missing.specHash)] = missing.explanation }
            for (item, instance, lostAt, _) in due {
                if let copy = to[instance.slot] {
                    result.placed.append(copy)
                    result.moved[instance.id.key, default: []].append(
                        RescheduleEvent(instance: instance.id, from: item.node, to: copy.node, lostAt: lostAt, at: now))
                } else {
                    result.placed.append(item)
                    result.lost[instance.id.key, default: []].append(
                        LostInstance(instance: instance.id, node: item.node, since: lostAt, rescheduleAt: nil, reason: why[instance.slot]))
                }
            }
            result.unplaced = copies.unplaced
            result.placed.sort { ($0.instance, $0.specHash) < ($1.instance, $1.specHash) }
            return result
        }
    }
}

extension Deployment {
    /// Records what node loss did this pass: `lost` as the deployment's lost instances now,
    /// and each of `moved` as a reschedule (with an event), keeping only the history the
    /// policy can still count.
    mutating func recordLoss(lost: [LostInstance], moved: [RescheduleEvent], at now: Timestamp) {
        self.lost = lost.sorted { $0.instance < $1.instance }
        guard !moved.isEmpty || !reschedules.isEmpty else { return }  // the common case: no history to keep
        for event in moved {
            let delay = event.at.milliseconds(since: event.lostAt)
            record(
                DeploymentEvent(
                    at: now, version: latest.number,
                    message: "\(event.instance.agent)/\(event.instance.index) lost with node \(event.from) (down \(delay / 1_000) s): rescheduled on node \(event.to)"))
        }
        let history = reschedules + moved
        let policy = latest.manifest.policies.reschedule
        let kept = Dictionary(grouping: history, by: \.instance).values.flatMap { policy.relevant($0, now: now) }
            .sorted { ($0.at, $0.instance) < ($1.at, $1.instance) }
        reschedules = kept
    }
}
