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
    /// Restarts inside the last `interval_ms` count. With *n* of them counted, the next
    /// restart is due the policy's delay function at *n* after the later of `downSince` and
    /// the last restart (a restart that failed at once still waits its delay). Once `attempts`
    /// restarts were used within the interval, `fail` mode gives up, and `delay` mode waits
    /// for the oldest to leave the interval.
    ///
    /// The count drops as restarts leave the interval, which can make a restart due sooner;
    /// the returned time accounts for that, so it is exactly the first moment a reconcile
    /// would restart (never late, never early).
    public static func decide(
        policy: RestartPolicy, restarts: [Timestamp], downSince: Timestamp, now: Timestamp
    ) -> RestartDecision {
        guard policy.attempts > 0 else {
            return .exhausted(reason: "the restart policy allows no restarts (attempts is 0)")
        }
        let anchor = max(downSince, restarts.max() ?? downSince)
        var recent = inWindow(restarts, policy: policy, now: now)
        if recent.count >= policy.attempts && policy.mode == .fail {
            return .exhausted(
                reason: "restarted \(recent.count) times within \(policy.intervalMs) ms (attempts \(policy.attempts), mode fail)")
        }
        var time = now
        while true {
            // Until `expiry` the count stays `recent.count`.
            let expiry = recent.first?.adding(ms: Int64(policy.intervalMs))
            if recent.count < policy.attempts {
                let delay = policy.delayFunction.delay(attempt: recent.count, baseMs: policy.delayMs, maxMs: policy.maxDelayMs)
                let due = max(time, anchor.adding(ms: Int64(delay)))
                if expiry.map({ due < $0 }) ?? true {
                    return due <= now ? .restartNow(attempt: recent.count + 1) : .wait(until: due)
                }
            }
            guard let expiry else { preconditionFailure("a full window always has a restart that expires") }
            time = expiry
            recent.removeFirst()
        }
    }

    /// The restarts still inside the policy's interval at `now`, oldest first.
    public static func inWindow(_ restarts: [Timestamp], policy: RestartPolicy, now: Timestamp) -> [Timestamp] {
        restarts.filter { now.milliseconds(since: $0) < Int64(policy.intervalMs) }.sorted()
    }
}
