public import MNCore

extension RolloutPlanner {
    /// The strategy an update from `from` to `to` runs: the target's policy, except that a
    /// topology change (agents added or removed, edges changed) is always a whole-job blue-green.
    public static func strategy(from: Manifest?, to: Manifest) -> UpdatePolicy.Strategy {
        if let from, from.topology != to.topology { return .blueGreen }
        return to.policies.update.strategy
    }

    /// Why the target cannot run beside the old version on one node, one line per clash: a
    /// host port both publish, unless the old instance is the very one kept (same hash).
    public static func sideBySideConflicts(from: Manifest?, to: Manifest) -> [String] {
        sideBySideConflicts(from: from.map { VersionedManifest(version: 0, manifest: $0) }, to: VersionedManifest(version: 0, manifest: to))
    }

    /// ``sideBySideConflicts(from:to:)`` with the versions' instance hashes already computed.
    static func sideBySideConflicts(from: VersionedManifest?, to: VersionedManifest) -> [String] {
        guard let from else { return [] }
        let kept = Set(to.instanceHashes).intersection(from.instanceHashes)
        var oldPorts: [HostPort: AgentID] = [:]
        for (agent, hash) in zip(from.manifest.agents, from.instanceHashes) where !kept.contains(hash) {
            for port in agent.hostPorts { oldPorts[port] = agent.id }
        }
        var problems: [String] = []
        for (agent, hash) in zip(to.manifest.agents, to.instanceHashes) where !kept.contains(hash) {
            for port in agent.hostPorts {
                guard let holder = oldPorts[port] else { continue }
                problems.append(
                    "blue-green runs both versions side by side, but agent '\(agent.id)' publishes host port \(port), "
                        + "which the old version's agent '\(holder)' holds: give the new version another host port, or use strategy rolling "
                        + "with the same agents and edges")
            }
        }
        return problems
    }

    /// Whether two instances of one unit can run at once on a node: not if both publish the
    /// same host port.
    static func canRunSideBySide(_ old: AgentSpec, _ new: AgentSpec) -> Bool {
        Set(old.hostPorts).isDisjoint(with: new.hostPorts)
    }

    /// Running, and (for `checks`) no check failing or pending.
    public static func isHealthy(_ status: InstanceStatus, signal: UpdatePolicy.HealthSignal) -> Bool {
        guard status.phase == .running else { return false }
        switch signal {
        case .agentStates: return true
        case .checks: return status.health == nil || status.health == ObservedContainer.Health.none || status.health == .healthy
        }
    }
}
