public import MNCore

extension ClusterReconciler {
    /// One instance on one node, as the assignments will say.
    struct Assigned: Hashable {
        var node: NodeID
        var slot: InstanceSlot
        var devices: [String]
    }

    /// What drains do to a placement: on a draining node, each service instance gets a copy
    /// placed elsewhere (at most the deployment's `max_parallel` moving at a time), and leaves
    /// the draining node only once its copy is reported healthy; batch instances stay until the
    /// deadline; a system job's instance serves its node, so it stays until nothing else is left
    /// there (the drain is complete) and stops last; at the deadline whatever is left leaves (a
    /// service instance not moved yet is placed elsewhere at once). A paused or failed
    /// deployment's instances do not move (nothing of it acts); they stop at the deadline.
    /// Everything else stays as placed.
    struct Drains {
        /// Drains by node.
        var drains: [NodeID: NodeDrain]
        /// Where each slot is assigned now, with its devices (a moving slot on two nodes).
        var assigned: [InstanceSlot: [NodeID: [String]]]
        /// What each node reports, by slot.
        var reported: [NodeID: [InstanceSlot: InstanceStatus]]
        var records: [DeploymentKey: Deployment]
        /// Paused or failed deployments.
        var frozen: Set<DeploymentKey>
        var now: Timestamp

        /// The instances' nodes after drains, the copies placement could not place (the
        /// instance stays where it is until one fits), and when a deadline needs a look.
        func apply(
            to placed: [Placement.Placed], desired: [InstanceSlot: DesiredInstance], nodes: [NodeInfo], down: Set<NodeID>
        ) -> (assigned: [Assigned], unplaced: [Placement.Unplaced], requeueAt: Timestamp?) {
            guard !drains.isEmpty else {
                return (placed.map { Assigned(node: $0.node, slot: InstanceSlot($0.instance, $0.specHash), devices: $0.devices) }, [], nil)
            }
            var result: [Assigned] = []
            var moving: [DeploymentKey: Int] = [:]
            var candidates: [(Placement.Placed, DesiredInstance)] = []
            var dueNow: [(Placement.Placed, DesiredInstance)] = []
            var serving: [Assigned] = []
            var requeueAt: Timestamp?
            for item in placed {
                let slot = InstanceSlot(item.instance, item.specHash)
                let here = Assigned(node: item.node, slot: slot, devices: item.devices)
                guard let drain = drains[item.node], let instance = desired[slot] else {
                    result.append(here)
                    continue
                }
                let due = now >= drain.deadline
                if !due { requeueAt = min(requeueAt ?? drain.deadline, drain.deadline) }
                if instance.jobType == .system {
                    if !due { serving.append(here) }  // stays until the rest is gone
                    continue
                }
                guard instance.jobType.isLongRunning && !frozen.contains(slot.instance.key) else {
                    if !due { result.append(here) }  // a batch run may finish, a frozen one waits; at the deadline it is stopped
                    continue
                }
                let copies = (assigned[slot] ?? [:]).filter { drains[$0.key] == nil && !down.contains($0.key) }.sorted { $0.key < $1.key }
                if let (node, devices) = copies.first {
                    let copy = Assigned(node: node, slot: slot, devices: devices)
                    if due || isHealthy(reported[node]?[slot], of: instance) {
                        result.append(copy)  // moved: the original stops
                    } else {
                        result += [here, copy]
                        moving[slot.instance.key, default: 0] += 1
                    }
                } else if due {
                    dueNow.append((item, instance))
                } else {
                    candidates.append((item, instance))
                }
            }
            // New moves, within each deployment's max_parallel; then those the deadline forces.
            var requests: [Placement.Request] = []
            var keep: [Assigned] = []
            for (item, instance) in candidates {
                let key = instance.id.key
                let limit = records[key]?.latest.manifest.policies.update.maxParallel ?? 1
                keep.append(Assigned(node: item.node, slot: InstanceSlot(item.instance, item.specHash), devices: item.devices))
                guard moving[key, default: 0] < limit else { continue }
                moving[key, default: 0] += 1
                requests.append(Placement.Request(instance, constraints: constraints(of: instance)))
            }
            for (_, instance) in dueNow { requests.append(Placement.Request(instance, constraints: constraints(of: instance))) }
            let copies = Placement.place(
                .init(nodes: nodes, down: down, allocations: (result + keep).compactMap { allocation(of: $0, desired: desired) }, requests: requests))
            result += keep
            result += copies.placed.map { Assigned(node: $0.node, slot: InstanceSlot($0.instance, $0.specHash), devices: $0.devices) }
            let busy = Set(result.map(\.node))
            result += serving.filter { busy.contains($0.node) }
            return (result, copies.unplaced, requeueAt)
        }

        /// Whether `status` shows the instance up by its deployment's health signal.
        private func isHealthy(_ status: InstanceStatus?, of instance: DesiredInstance) -> Bool {
            guard let status, let signal = records[instance.id.key]?.version(instance.version)?.manifest.policies.update.healthCheck else {
                return false
            }
            return RolloutPlanner.isHealthy(status, signal: signal)
        }

        private func constraints(of instance: DesiredInstance) -> [PlacementConstraint] {
            records[instance.id.key].map { ClusterReconciler.constraints(of: $0, version: instance.version) } ?? []
        }

        /// What `assigned` holds on its node, from its desired instance's spec.
        private func allocation(of assigned: Assigned, desired: [InstanceSlot: DesiredInstance]) -> Placement.Allocation? {
            guard let instance = desired[assigned.slot] else { return nil }
            return Placement.Allocation(instance.id, specHash: instance.specHash, spec: instance.spec, on: assigned.node, devices: assigned.devices)
        }
    }
}
