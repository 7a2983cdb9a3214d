public import MNCore

/// The outcome of one run of one health check.
public struct CheckResult: Hashable, Sendable, Codable {
    /// The check's name (``MNCore/HealthCheck/name``).
    public var check: String
    public var passed: Bool
    /// When the run started.
    public var at: Timestamp
    /// Why it failed, when it did.
    public var reason: String?

    /// Creates a result.
    public init(check: String, passed: Bool, at: Timestamp, reason: String? = nil) {
        self.check = check
        self.passed = passed
        self.at = at
        self.reason = reason
    }
}

/// Pure rules for the health checks the agent runs itself (podman does not schedule them
/// without systemd): which are due, and what the latest results say.
public enum HealthEvaluation {
    /// The checks due at `now` (never run, or last run `interval_ms` ago or more), and the
    /// earliest time one of the rest becomes due.
    public static func due(_ checks: [HealthCheck], latest: [String: CheckResult], now: Timestamp) -> (due: [HealthCheck], next: Timestamp?)
    {
        var due: [HealthCheck] = []
        var next: Timestamp?
        for check in checks {
            guard let last = latest[check.name] else {
                due.append(check)
                continue
            }
            let nextRun = last.at.adding(ms: Int64(check.intervalMs))
            if nextRun <= now {
                due.append(check)
            } else {
                next = min(next ?? nextRun, nextRun)
            }
        }
        return (due, next)
    }

    /// Healthy when every check's latest run passed, unhealthy when any latest run failed,
    /// starting while some check has not run yet; `none` without checks.
    public static func health(of checks: [HealthCheck], latest: [String: CheckResult]) -> ObservedContainer.Health {
        guard !checks.isEmpty else { return .none }
        var pending = false
        for check in checks {
            guard let result = latest[check.name] else {
                pending = true
                continue
            }
            if !result.passed { return .unhealthy }
        }
        return pending ? .starting : .healthy
    }
}
