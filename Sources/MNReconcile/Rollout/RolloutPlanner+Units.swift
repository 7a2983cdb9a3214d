import MNCore

extension RolloutPlanner {
    /// A changed unit, by position: the agent's row in the table and the instance index.
    struct UnitRef: Hashable {
        let row: Int32
        let index: Int32
    }

    /// One agent of either version: its spec, hash and count in each, and the progress of its
    /// units in the rollout, by instance index.
    struct AgentRow {
        let id: AgentID
        /// The agent in the target version, if it is there: spec (shared by its instances) and hash.
        let new: (spec: Shared<AgentSpec>, hash: SpecHash)?
        let newCount: Int
        let old: (spec: Shared<AgentSpec>, hash: SpecHash)?
        let oldCount: Int
        /// Whether a unit's old and new instances can run at once (no host port both publish).
        let sideBySide: Bool
        /// Each unit's position among the changed units, or -1 if the unit did not change.
        var rank: [Int32] = []
        /// Each unit's progress, at least `newCount` long.
        var progress: [UnitProgress]
        /// The first report of each unit's new instance: 0 none, 1 unhealthy, 2 healthy, 3 lost
        /// (on a node that is down), 4 failed for good (see ``failures``).
        var health: [UInt8] = []
        /// Why a unit's new instance failed for good (its restart policy ran out), by index.
        var failures: [Int: String] = [:]
    }

    /// The units of an update, agent by agent, with their progress: what a decision reads and
    /// changes, indexed by position so each instance costs a few array accesses.
    struct UnitTable {
        private(set) var rows: [AgentRow]
        /// The changed units in the order their names (`agent/index`) sort: the order batches go in.
        private(set) var changed: [UnitRef] = []
        private let from: VersionedManifest?
        private let to: VersionedManifest
        private let strategy: UpdatePolicy.Strategy

        /// `perAgent`: instances of each agent in both versions, instead of their `count` (a system
        /// job's: one per node it runs on).
        init(from: VersionedManifest?, to: VersionedManifest, strategy: UpdatePolicy.Strategy, state: RolloutState, perAgent: Int? = nil) {
            self.from = from
            self.to = to
            self.strategy = strategy
            var old: [AgentID: (spec: Shared<AgentSpec>, hash: SpecHash)] = [:]
            if let from {
                for (agent, hash) in zip(from.manifest.agents, from.instanceHashes) where old[agent.id] == nil {
                    old[agent.id] = (Shared(agent), hash)
                }
            }
            var rows: [AgentRow] = []
            var seen: Set<AgentID> = []
            for (agent, hash) in zip(to.manifest.agents, to.instanceHashes) where seen.insert(agent.id).inserted {
                let previous = old[agent.id]
                rows.append(
                    AgentRow(
                        id: agent.id, new: (Shared(agent), hash), newCount: perAgent ?? agent.count, old: previous,
                        oldCount: previous.map { perAgent ?? $0.spec.value.count } ?? 0, sideBySide: previous.map { canRunSideBySide($0.spec.value, agent) } ?? true,
                        progress: []))
            }
            for agent in from?.manifest.agents ?? [] where seen.insert(agent.id).inserted {
                rows.append(
                    AgentRow(id: agent.id, new: nil, newCount: 0, old: old[agent.id], oldCount: perAgent ?? agent.count, sideBySide: true, progress: []))
            }
            // Rows in instance-id order (the order of the desired instances).
            rows.sort { $0.id < $1.id }
            let anyOld = rows.contains { $0.oldCount > 0 }
            for row in rows.indices {
                let r = rows[row]
                var progress = state.progress(of: r.id)
                if progress.count < r.newCount { progress += repeatElement(UnitProgress(), count: r.newCount - progress.count) }
                rows[row].progress = progress
                rows[row].rank = Array(repeating: -1, count: r.newCount)
            }
            self.rows = rows

            // Changed units, in name order: agents by `agent/`, then indices as decimal strings.
            let byName = rows.indices.sorted { "\(rows[$0].id)/" < "\(rows[$1].id)/" }
            for row in byName {
                let r = rows[row]
                guard let new = r.new else { continue }
                for index in lexicographicIndices(r.newCount) {
                    let isChanged =
                        if let old = r.old, index < r.oldCount { old.hash != new.hash } else { strategy == .blueGreen && anyOld }
                    guard isChanged else { continue }
                    self.rows[row].rank[index] = Int32(changed.count)
                    changed.append(UnitRef(row: Int32(row), index: Int32(index)))
                }
            }
        }

        /// A changed unit's progress.
        subscript(unit: UnitRef) -> UnitProgress {
            get { rows[Int(unit.row)].progress[Int(unit.index)] }
            set { rows[Int(unit.row)].progress[Int(unit.index)] = newValue }
        }

        /// `agent/index`.
        func name(of unit: UnitRef) -> String { "\(rows[Int(unit.row)].id)/\(unit.index)" }

        /// Reads, for each unit, the health of the first report of its new instance (same
        /// instance, same spec hash).
        mutating func readHealth(_ reports: [InstanceStatus], signal: UpdatePolicy.HealthSignal) {
            var rowOf: [AgentID: (row: Int, hash: SpecHash)] = [:]
            for (row, r) in rows.enumerated() {
                guard let new = r.new else { continue }
                rowOf[r.id] = (row, new.hash)
                rows[row].health = Array(repeating: 0, count: r.newCount)
            }
            // Reports come grouped by agent: look the agent up only when it changes.
            var last: (agent: AgentID, row: (row: Int, hash: SpecHash)?)?
            for report in reports where report.id.key == to.manifest.key {
                let found: (row: Int, hash: SpecHash)?
                if let last, last.agent == report.id.agent {
                    found = last.row
                } else {
                    found = rowOf[report.id.agent]
                    last = (report.id.agent, found)
                }
                let index = report.id.index
                guard let (row, hash) = found, index < rows[row].health.count, rows[row].health[index] == 0, report.specHash == hash
                else { continue }
                if case .lost = report.phase {
                    rows[row].health[index] = 3
                } else if case .failed(let reason, nil) = report.phase {
                    rows[row].health[index] = 4
                    rows[row].failures[index] = reason
                } else {
                    rows[row].health[index] = RolloutPlanner.isHealthy(report, signal: signal) ? 2 : 1
                }
            }
        }

        /// Whether the unit's new instance was reported healthy.
        func isHealthy(_ unit: UnitRef) -> Bool { rows[Int(unit.row)].health[Int(unit.index)] == 2 }

        /// Whether the unit's new instance is on a node that is down.
        func isLost(_ unit: UnitRef) -> Bool { rows[Int(unit.row)].health[Int(unit.index)] == 3 }

        /// Why the unit's new instance failed for good (no retry will come), if it did.
        func failure(_ unit: UnitRef) -> String? { rows[Int(unit.row)].failures[Int(unit.index)] }

        /// Unchanged units run the new version; changed units run the old until done (kept while
        /// they are a waiting first wave), plus the new once placed; units gone from the target
        /// are kept only by an unpromoted blue-green. Sorted by instance id, then spec hash.
        func desiredInstances(firstWaveCount: Int, promoted: Bool) -> [DesiredInstance] {
            let keepGone = strategy == .blueGreen && !promoted
            let newRole: InstanceRole = promoted ? .primary : strategy == .blueGreen ? .candidate : .canary
            var desired: [DesiredInstance] = []
            desired.reserveCapacity(rows.reduce(0) { $0 + max($1.newCount, $1.oldCount) } + changed.count)
            for r in rows {
                let oldFirst = r.old.map { old in r.new.map { old.hash < $0.hash } ?? true } ?? false
                guard let new = r.new else {
                    if keepGone { for index in 0..<r.oldCount { desired.append(oldInstance(r, index)) } }
                    continue
                }
                for index in 0..<max(r.newCount, r.oldCount) {
                    guard index < r.newCount else {
                        if keepGone { desired.append(oldInstance(r, index)) }
                        continue
                    }
                    let rank = r.rank[index]
                    guard rank >= 0 else {
                        desired.append(newInstance(new, index, role: .primary))
                        continue
                    }
                    let progress = r.progress[index]
                    // Side by side unless both publish a host port: then the old makes way (it is
                    // stopped by id, then the new started), still one batch at a time.
                    let keepOld = !progress.done || (!promoted && Int(rank) < firstWaveCount)
                    let old = keepOld && index < r.oldCount && (progress.placedAt == nil || r.sideBySide) ? oldInstance(r, index) : nil
                    let placed = progress.placedAt != nil ? newInstance(new, index, role: newRole) : nil
                    if oldFirst {
                        if let old { desired.append(old) }
                        if let placed { desired.append(placed) }
                    } else {
                        if let placed { desired.append(placed) }
                        if let old { desired.append(old) }
                    }
                }
            }
            if let from, from.manifest.key != to.manifest.key {
                // Only a hand-made input mixes keys; keep the documented order anyway.
                desired.sort { ($0.id, $0.specHash) < ($1.id, $1.specHash) }
            }
            return desired
        }

        /// Every instance of the old version, sorted: what keeps serving when the target cannot start.
        func oldInstances() -> [DesiredInstance] {
            var desired: [DesiredInstance] = []
            for r in rows where r.old != nil {
                for index in 0..<r.oldCount { desired.append(oldInstance(r, index)) }
            }
            return desired
        }

        private func oldInstance(_ r: AgentRow, _ index: Int) -> DesiredInstance {
            let from = from!  // a row has an old spec only when there is a `from`
            var instance = DesiredInstance(
                key: from.manifest.key, shared: r.old!.spec, index: index, version: from.version, role: .primary,
                restart: from.manifest.policies.restart, jobType: from.manifest.type, specHash: r.old!.hash)
            instance.payloads = from.manifest.payloads
            return instance
        }

        private func newInstance(_ new: (spec: Shared<AgentSpec>, hash: SpecHash), _ index: Int, role: InstanceRole) -> DesiredInstance {
            var instance = DesiredInstance(
                key: to.manifest.key, shared: new.spec, index: index, version: to.version, role: role,
                restart: to.manifest.policies.restart, jobType: to.manifest.type, specHash: new.hash)
            instance.payloads = to.manifest.payloads
            return instance
        }

        /// Writes the units' progress back into `state`.
        func store(into state: inout RolloutState) {
            for r in rows where r.new != nil { state.setProgress(r.progress, of: r.id) }
        }
    }

    /// `0..<count` in the order of their decimal names (0, 1, 10, 100, 11, …, 2, 20, …), in
    /// linear time.
    static func lexicographicIndices(_ count: Int) -> [Int] {
        guard count > 0 else { return [] }
        var order = [0]
        order.reserveCapacity(count)
        let last = count - 1
        var current = 1
        while order.count < count {
            order.append(current)
            if current * 10 <= last {
                current *= 10
            } else {
                while current % 10 == 9 || current + 1 > last { current /= 10 }
                current += 1
            }
        }
        return order
    }
}
