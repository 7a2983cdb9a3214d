public import MNCore

/// The cluster level: from the nodes, every deployment and every node's report, what each
/// node should run and how each deployment's record changes. Pure and deterministic: the same
/// input (in any order) gives the same output, and time is an input.
///
/// For each deployment, by key:
/// 1. a version still Validating is placed tentatively, and each node it would run on checks
///    it (``NodeAssignment/Check``); once every such node passed, it is Deploying, and a problem
///    on any node fails it in Validating, naming the node. Nothing of it starts before;
/// 2. ``DeploymentPlanner`` decides which instances of which versions run now (rollout steps,
///    fleet-wide, from the statuses of all nodes) and the record's next state, including an
///    `auto_revert` version after a failed update;
///
/// then ``Placement`` gives every instance a node (sticky: what runs stays where it runs), and
/// an instance no node fits is named in its deployment's ``MNCore/Deployment/unplaced``.
public enum ClusterReconciler {
    /// Everything the controller looks at.
    public struct Input: Sendable {
        /// The registered nodes.
        public var nodes: [NodeInfo]
        /// Registered nodes whose heartbeat expired, with when it expired: their instances are
        /// lost, and rescheduled elsewhere as their deployment's `policies.reschedule` says.
        public var down: [NodeID: Timestamp]
        /// Every deployment record, with its versions.
        public var deployments: [Deployment]
        /// Each node's last reported instances.
        public var reports: [NodeID: [InstanceStatus]]
        /// The nodes' verdicts on checked versions, by deployment.
        public var verdicts: [DeploymentKey: [NodeID: ValidationVerdict]]
        /// The assignments stored now.
        public var assignments: [NodeID: NodeAssignment]
        /// Drains in progress, by node (those nodes' ``MNCore/NodeInfo/draining`` is set too).
        public var drains: [NodeID: NodeDrain]
        public var now: Timestamp

        /// Creates an input.
        public init(
            nodes: [NodeInfo], down: [NodeID: Timestamp] = [:], deployments: [Deployment], reports: [NodeID: [InstanceStatus]] = [:],
            verdicts: [DeploymentKey: [NodeID: ValidationVerdict]] = [:], assignments: [NodeID: NodeAssignment] = [:],
            drains: [NodeID: NodeDrain] = [:], now: Timestamp
        ) {
            self.nodes = nodes
            self.down = down
            self.deployments = deployments
            self.reports = reports
            self.verdicts = verdicts
            self.assignments = assignments
            self.drains = drains
            self.now = now
        }
    }

    /// What the controller stores.
    public struct Output: Hashable, Sendable {
        /// The assignments that change, by node. A node gets no assignment while it would be
        /// empty and has none (a wiped store is no reason to stop anything).
        public var assignments: [NodeID: NodeAssignment]
        /// The records that change, sorted by key.
        public var records: [Deployment]
        /// When to decide again even if nothing changes.
        public var requeueAt: Timestamp?
    }

    /// Decides for the whole cluster.
    public static func reconcile(_ input: Input) -> Output {
        let now = input.now
        let nodes = input.nodes.sorted { $0.id < $1.id }
        let down = Set(input.down.keys)
        // Where each slot runs now: what nodes report, overridden by what they were told. A node
        // that is down cannot act on its assignment: of its last report, only the slots still
        // assigned to it count (what it was told to drop counts as gone; it goes when it is back).
        // Those slots are lost: unavailable, neither healthy nor failed.
        // A slot moving off a draining node is on two nodes: the planner sees its best status
        // (running first), placement its place on the draining node (where the move started).
        var current: [InstanceSlot: Placement.Request.Current] = [:]
        var best: [InstanceSlot: InstanceStatus] = [:]
        var reported: [NodeID: [InstanceSlot: InstanceStatus]] = [:]
        for (node, statuses) in input.reports.sorted(by: { $0.key < $1.key }) {
            let lostSince = input.down[node]
            let kept = lostSince != nil
                ? Set((input.assignments[node]?.instances ?? []).map { InstanceSlot($0.id, $0.specHash) }) : nil
            for var status in statuses where kept?.contains(status.slot) ?? true {
                if let lostSince, status.phase != .complete { status.phase = .lost(since: lostSince) }
                if let other = best[status.slot], other.phase == .running || status.phase != .running {
                    // keep the one found first
                } else {
                    best[status.slot] = status
                }
                if !input.drains.isEmpty { reported[node, default: [:]][status.slot] = status }
                if status.container != nil { current[status.slot] = .init(node: node) }
            }
        }
        var statuses: [DeploymentKey: [InstanceStatus]] = [:]
        for status in best.values.sorted(by: { ($0.id, $0.specHash) < ($1.id, $1.specHash) }) {
            statuses[status.id.key, default: []].append(status)
        }
        var assigned: [InstanceSlot: [NodeID: [String]]] = [:]
        for (node, assignment) in input.assignments.sorted(by: { $0.key < $1.key }) {
            for instance in assignment.instances {
                let slot = InstanceSlot(instance.id, instance.specHash)
                assigned[slot, default: [:]][node] = instance.devices
                if let at = current[slot], at.node != node, assigned[slot]?[at.node] != nil, input.drains[at.node] != nil { continue }
                current[slot] = .init(node: node, devices: instance.devices)
            }
        }

        var records: [DeploymentKey: Deployment] = [:]
        var desired: [DesiredInstance] = []
        var frozen: Set<DeploymentKey> = []
        var checks: [NodeID: [NodeAssignment.Check]] = [:]
        var heldUnplaced: [DeploymentKey: String] = [:]
        var layouts: [DeploymentKey: SystemLayout] = [:]
        var requeueAt: Timestamp?
        for original in input.deployments.sorted(by: { $0.key < $1.key }) {
            var record = original
            let key = record.key
            let target = record.latest.number
            let mine = statuses[key] ?? []
            let layout = Self.layout(of: record, nodes: nodes, down: down, current: current)
            if let layout {
                layouts[key] = layout
                if layout.count == 0 { heldUnplaced[key] = "a \(record.latest.manifest.type.rawValue) job runs on every eligible node that meets its constraints, and none does now" }
            }
            var cleared = true
            if record.status == .validating {
                switch validation(
                    of: record, version: target, layout: layout, nodes: nodes, down: down, current: current, verdicts: input.verdicts[key] ?? [:])
                {
                case .unplaced(let why):
                    heldUnplaced[key] = why
                    cleared = false
                case .pending(let waiting):
                    let stable = record.stable(before: target)?.number
                    for node in waiting { checks[node, default: []].append(.init(key: key, version: target, stable: stable)) }
                    cleared = false
                case .done(let problems, let on):
                    _ = DeploymentTransitions.validated(&record, version: target, problems: problems, nodes: on, at: now)
                }
            }
            // Held at its stable version: not cleared yet, failed in validation, or added while paused.
            let failedValidation =
                !cleared || record.latestWaitsForResume
                || (record.status == .failed && record.failure?.phase == .validating && record.failure?.version == target)
            // A system job's planners see its nodes numbered 0..<n (see ``SystemLayout``).
            let seen = layout.map { $0.compact(mine) } ?? mine
            if let layout { record.rollout = record.rollout.map { layout.compact($0) } }
            var decision = DeploymentPlanner.decide(
                record, version: target, failedValidation: failedValidation, statuses: seen, now: now, instancesPerAgent: layout?.count)
            let recorded = DeploymentPlanner.record(decision, statuses: seen, in: &record, at: now)
            if let layout {
                record.rollout = record.rollout.map { layout.expand($0) }
                decision.instances = layout.expand(decision.instances)
            }
            if recorded, let (version, reason) = DeploymentPlanner.failure(of: decision),
                record.revertAfterFailure(of: version, reason: reason, at: now) != nil
            {
                requeueAt = now  // the revert is decided at once
            }
            if decision.frozen { frozen.insert(key) }
            if let at = decision.requeueAt { requeueAt = min(requeueAt ?? at, at) }
            desired += decision.instances
            records[key] = record
        }

        var constraints: [DeploymentID: [PlacementConstraint]] = [:]
        for instance in desired {
            let version = DeploymentID(key: instance.id.key, version: instance.version)
            if constraints[version] == nil, let record = records[instance.id.key] {
                constraints[version] = Self.constraints(of: record, version: instance.version)
            }
        }
        let placement = Placement.place(
            .init(
                nodes: nodes, down: down, allocations: retiring(statuses, desired: desired, current: current, records: records),
                requests: Self.pinned(Placement.requests(for: desired, constraints: constraints, current: current), layouts)))
        var bySlot: [InstanceSlot: DesiredInstance] = [:]
        for instance in desired { bySlot[instance.slot] = instance }
        let rescheduled = Reschedules(down: input.down, records: records, frozen: frozen, statuses: best, now: now)
            .apply(to: placement.placed, desired: bySlot, nodes: nodes)
        if let at = rescheduled.requeueAt { requeueAt = min(requeueAt ?? at, at) }
        for key in Array(records.keys) {
            records[key]?.recordLoss(lost: rescheduled.lost[key] ?? [], moved: rescheduled.moved[key] ?? [], at: now)
        }
        let drained = Drains(drains: input.drains, assigned: assigned, reported: reported, records: records, frozen: frozen, now: now)
            .apply(to: rescheduled.placed, desired: bySlot, nodes: nodes, down: down)
        if let at = drained.requeueAt { requeueAt = min(requeueAt ?? at, at) }
        var unplaced: [DeploymentKey: [String]] = [:]
        var agentsNamed: Set<String> = []
        for missing in placement.unplaced + rescheduled.unplaced + drained.unplaced
        where agentsNamed.insert("\(missing.instance.key)/\(missing.instance.agent)").inserted {
            unplaced[missing.instance.key, default: []].append(missing.explanation)
        }
        for (key, original) in records {
            let why = heldUnplaced[key] ?? unplaced[key]?.joined(separator: ". ")
            if original.unplaced != why { records[key]?.unplaced = why }
        }

        var instances: [NodeID: [NodeAssignment.Instance]] = [:]
        for placed in drained.assigned {
            guard let instance = bySlot[placed.slot] else { continue }
            instances[placed.node, default: []].append(
                .init(id: instance.id, version: instance.version, role: instance.role, specHash: instance.specHash, devices: placed.devices))
        }
        var assignments: [NodeID: NodeAssignment] = [:]
        let everyNode = Set(nodes.map(\.id)).union(input.assignments.keys).union(instances.keys).union(checks.keys)
        for node in everyNode {
            let here = instances[node] ?? []
            // Every frozen key, on every node: a container of it is never acted on, wherever it is
            // — except on a node whose drain reached its deadline, which stops everything.
            let drained = input.drains[node].map { now >= $0.deadline } ?? false
            var assignment = NodeAssignment(instances: here, frozen: drained ? [] : frozen.sorted(), checks: checks[node] ?? [])
            for key in assignment.versions.keys { assignment.origins[key] = records[key]?.origin }
            let stored = input.assignments[node]
            if assignment != stored && !(assignment.isEmpty && stored == nil) { assignments[node] = assignment }
        }
        let changed = input.deployments.compactMap { original in records[original.key].flatMap { $0 != original ? $0 : nil } }
        return Output(assignments: assignments, records: changed.sorted { $0.key < $1.key }, requeueAt: requeueAt)
    }

    /// What runs and is no longer desired (an update retires it): allocations a new instance
    /// of the same id may take over in place (a host port it must free first, for one).
    static func retiring(
        _ statuses: [DeploymentKey: [InstanceStatus]], desired: [DesiredInstance], current: [InstanceSlot: Placement.Request.Current],
        records: [DeploymentKey: Deployment]
    ) -> [Placement.Allocation] {
        let wanted = Set(desired.map(\.slot))
        var allocations: [Placement.Allocation] = []
        for (key, reported) in statuses {
            for status in reported where !wanted.contains(status.slot) {
                guard let at = current[status.slot],
                    let spec = records[key]?.version(status.version)?.manifest.agents.first(where: { $0.id == status.id.agent })
                else { continue }
                allocations.append(.init(status.id, specHash: status.specHash, spec: spec, on: at.node, devices: at.devices))
            }
        }
        return allocations
    }

    /// The layout of a system or sysbatch deployment (`nil` for the others): by its latest version.
    static func layout(
        of deployment: Deployment, nodes: [NodeInfo], down: Set<NodeID>, current: [InstanceSlot: Placement.Request.Current]
    ) -> SystemLayout? {
        let latest = deployment.latest
        guard latest.manifest.type == .system || latest.manifest.type == .sysbatch else { return nil }
        return SystemLayout.of(deployment, constraints: constraints(of: deployment, version: latest.number), nodes: nodes, down: down, current: current)
    }

    /// `requests` with each system job instance pinned to its node.
    static func pinned(_ requests: [Placement.Request], _ layouts: [DeploymentKey: SystemLayout]) -> [Placement.Request] {
        guard !layouts.isEmpty else { return requests }
        return requests.map { request in
            guard let layout = layouts[request.instance.key] else { return request }
            var request = request
            request.constraints += layout.pin(request.instance.index)
            return request
        }
    }

    /// The manifest-level constraints of version `version`, and the deployment's pin (the
    /// constraint `node.id = NODE`, for every version).
    static func constraints(of deployment: Deployment, version: Int) -> [PlacementConstraint] {
        (deployment.version(version)?.manifest.constraints ?? [])
            + (deployment.node.map { [PlacementConstraint(.nodeID, .equals($0.rawValue))] } ?? [])
    }

    /// Where a version still Validating stands.
    enum Validation {
        /// No node fits some of its instances: it waits (nothing is checked yet).
        case unplaced(String)
        /// These nodes have not given their verdict yet.
        case pending([NodeID])
        /// Every node it would run on gave its verdict (or one found problems): `problems`, from `nodes`.
        case done(problems: [String], nodes: [NodeID])
    }

    /// Places version `version` of `deployment` tentatively, as its rollout would: each new
    /// instance on the node of the stable instance it replaces when it fits there (in its
    /// place), else where placement puts it; and reads the verdicts of the nodes it would run on
    /// that are up. A verdict with problems from any node it was asked of settles it.
    static func validation(
        of deployment: Deployment, version: Int, layout: SystemLayout?, nodes: [NodeInfo], down: Set<NodeID>,
        current: [InstanceSlot: Placement.Request.Current], verdicts: [NodeID: ValidationVerdict]
    ) -> Validation {
        guard let manifest = deployment.version(version)?.manifest else { return .unplaced("version \(version) is missing") }
        func instances(_ manifest: Manifest, _ version: Int) -> [DesiredInstance] {
            guard let layout else { return manifest.desiredInstances(version: version) }
            return layout.expand(manifest.desiredInstances(version: version, perAgent: layout.count))
        }
        let target = instances(manifest, version)
        let mine = current.filter { $0.key.instance.key == deployment.key }
        // The stable version's instances are what the update replaces: allocations it may take over.
        var allocations: [Placement.Allocation] = []
        if let from = deployment.stable(before: version) {
            for instance in instances(from.manifest, from.number) {
                guard let at = mine[instance.slot] else { continue }
                allocations.append(.init(instance.id, specHash: instance.specHash, spec: instance.spec, on: at.node, devices: at.devices))
            }
        }
        let constraints = [DeploymentID(key: deployment.key, version: version): Self.constraints(of: deployment, version: version)]
        let trial = Placement.place(
            .init(
                nodes: nodes, down: down, allocations: allocations,
                requests: pinned(Placement.requests(for: target, constraints: constraints, current: mine), layout.map { [deployment.key: $0] } ?? [:])))
        let targetSlots = Set(target.map(\.slot))
        if let first = trial.unplaced.first(where: { targetSlots.contains(InstanceSlot($0.instance, $0.specHash)) }) {
            return .unplaced(first.explanation)
        }
        let placed = Set(trial.placed.filter { targetSlots.contains(InstanceSlot($0.instance, $0.specHash)) }.map(\.node))
        let needed = placed.subtracting(down).sorted()
        let current = verdicts.filter { $0.value.version == version }
        let failed = current.filter { !$0.value.problems.isEmpty }.sorted { $0.key < $1.key }
        if !failed.isEmpty {
            // Each problem names its node (``Preflight``).
            return .done(problems: failed.flatMap(\.value.problems), nodes: failed.map(\.key))
        }
        if needed.isEmpty, let away = placed.sorted().first {
            return .unplaced("version \(version) waits for node \(away), which is down, to check it")
        }
        let waiting = needed.filter { current[$0] == nil }
        return waiting.isEmpty ? .done(problems: [], nodes: needed) : .pending(waiting)
    }
}
