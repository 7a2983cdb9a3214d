public import MNCore
public import MNReconcile

/// The latest check results of each running container, and the runs that are due.
public actor HealthMonitor {
    private var latest: [ContainerID: [String: CheckResult]] = [:]
    private let prober: any HealthProber

    /// Runs checks through `prober`.
    public init(prober: any HealthProber) { self.prober = prober }

    /// Runs the due checks of `running` containers (concurrently), forgets containers no
    /// longer running, and returns each container's health and when the next check is due.
    public func update(running: [ContainerID: [HealthCheck]], now: Timestamp) async -> (
        health: [ContainerID: ObservedContainer.Health], next: Timestamp?
    ) {
        latest = latest.filter { running[$0.key] != nil }
        var due: [(ContainerID, HealthCheck)] = []
        for (container, checks) in running {
            due += HealthEvaluation.due(checks, latest: latest[container] ?? [:], now: now).due.map { (container, $0) }
        }
        let prober = self.prober
        let results = await withTaskGroup(of: (ContainerID, CheckResult).self) { group in
            for (container, check) in due {
                group.addTask {
                    // Await first, then build the pair: see PlanExecutor.run(_:index:) for the
                    // optimiser bug that a tuple built around an `await` in a child task can hit.
                    let result = await prober.probe(check, container: container, at: now)
                    return (container, result)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (container, result) in results { latest[container, default: [:]][result.check] = result }

        var health: [ContainerID: ObservedContainer.Health] = [:]
        var next: Timestamp?
        for (container, checks) in running {
            let results = latest[container] ?? [:]
            health[container] = HealthEvaluation.health(of: checks, latest: results)
            if let due = HealthEvaluation.due(checks, latest: results, now: now).next { next = min(next ?? due, due) }
        }
        return (health, next)
    }
}
