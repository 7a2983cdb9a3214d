public import MNCore

/// What the restart policy allows for an instance that is down.
public enum RestartDecision: Hashable, Sendable {
    /// Restart now; this is attempt number `attempt` within the interval.
    case restartNow(attempt: Int)
    /// Not yet: the delay (or the window) ends at the given time.
    case wait(until: Timestamp)
    /// No restarts left in `fail` mode (or the policy allows none).
    case exhausted(reason: String)

    /// Decides for an instance down since `downSince`, with earlier restarts at `restarts`.
    ///
    /// Restarts inside the last `interval_ms` count; the delay before attempt *n* is the
    /// policy's delay function at *n* − 1, from the moment the instance went down. Once
    /// `attempts` restarts were used within the interval, `fail` mode gives up and `delay`
    /// mode waits until the oldest of them leaves the interval.
    public static func decide(
        policy: RestartPolicy, restarts: [Timestamp], downSince: Timestamp, now: Timestamp
    ) -> RestartDecision {
        guard policy.attempts > 0 else {
            return .exhausted(reason: "the restart policy allows no restarts (attempts is 0)")
        }
        let recent = inWindow(restarts, policy: policy, now: now)
        let delay = Int64(policy.delayFunction.delay(attempt: recent.count, baseMs: policy.delayMs, maxMs: policy.maxDelayMs))
        var due = downSince.adding(ms: delay)
        if recent.count >= policy.attempts {
            guard policy.mode == .delay else {
                return .exhausted(
                    reason: "restarted \(recent.count) times within \(policy.intervalMs) ms (attempts \(policy.attempts), mode fail)")
            }
            let windowOpens = recent[recent.count - policy.attempts].adding(ms: Int64(policy.intervalMs))
            due = max(windowOpens, downSince.adding(ms: Int64(policy.delayMs)))
            return now >= due ? .restartNow(attempt: policy.attempts) : .wait(until: due)
        }
        return now >= due ? .restartNow(attempt: recent.count + 1) : .wait(until: due)
    }

    /// The restarts still inside the policy's interval at `now`, oldest first.
    public static func inWindow(_ restarts: [Timestamp], policy: RestartPolicy, now: Timestamp) -> [Timestamp] {
        restarts.filter { now.milliseconds(since: $0) < Int64(policy.intervalMs) }.sorted()
    }
}
