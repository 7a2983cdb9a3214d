/// An instance that moved to another node because its node went down (`policies.reschedule`):
/// the tracker the policy's attempts and delays are counted from.
public struct RescheduleEvent: Hashable, Sendable, Codable {
    public var instance: InstanceID
    /// The node that went down.
    public var from: NodeID
    /// The node it was placed on instead.
    public var to: NodeID
    /// When it was lost: when its node's heartbeat expired.
    public var lostAt: Timestamp
    /// When it was placed on `to`.
    public var at: Timestamp

    /// Creates an event.
    public init(instance: InstanceID, from: NodeID, to: NodeID, lostAt: Timestamp, at: Timestamp) {
        self.instance = instance
        self.from = from
        self.to = to
        self.lostAt = lostAt
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case instance, from, to, at
        case lostAt = "lost_at"
    }
}

/// An instance on a node that is down: what the reschedule policy does about it.
public struct LostInstance: Hashable, Sendable, Codable {
    public var instance: InstanceID
    public var node: NodeID
    /// When its node's heartbeat expired.
    public var since: Timestamp
    /// When it is placed elsewhere; `nil` when the policy allows no more attempts now.
    public var rescheduleAt: Timestamp?
    /// Why it has not moved: no attempt left (until when), or no node fits.
    public var reason: String?

    /// Creates an entry.
    public init(instance: InstanceID, node: NodeID, since: Timestamp, rescheduleAt: Timestamp?, reason: String? = nil) {
        self.instance = instance
        self.node = node
        self.since = since
        self.rescheduleAt = rescheduleAt
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case instance, node, since, reason
        case rescheduleAt = "reschedule_at"
    }
}

extension ReschedulePolicy {
    /// What the policy allows for an instance lost at `lostAt`, at `now`.
    public enum Decision: Hashable, Sendable {
        /// Place it elsewhere at `at` (its node's loss plus the delay of attempt `attempt`, from 0).
        case reschedule(at: Timestamp, attempt: Int)
        /// No attempt is left in the window: the instance waits for its node. `until`: when the
        /// oldest attempt leaves the window (`nil`: never, the policy allows none).
        case exhausted(attempts: Int, until: Timestamp?)
    }

    /// Decides for an instance lost at `lostAt`, given its earlier reschedules (`history`).
    ///
    /// With `attempts` in `interval_ms`, the reschedules in the window before `now` count: the
    /// delay of attempt *n* (0 for the first) grows by `delay_function`, and none is left once
    /// `attempts` are used. Unlimited, the delay grows with each reschedule that follows
    /// another within `max_delay_ms` (an instance that stayed up that long starts again from
    /// `delay_ms`).
    public func decide(lostAt: Timestamp, history: [RescheduleEvent], now: Timestamp) -> Decision {
        let events = history.sorted { $0.at < $1.at }
        let attempt: Int
        if unlimited {
            // The streak of reschedules, newest first, each lost again within max_delay_ms of its placement.
            var streak = 0
            var next = lostAt
            for event in events.reversed() {
                guard next.milliseconds(since: event.at) < Int64(max(maxDelayMs, delayMs)) else { break }
                streak += 1
                next = event.lostAt
            }
            attempt = streak
        } else {
            let window = events.filter { now.milliseconds(since: $0.at) < Int64(intervalMs) }
            guard window.count < attempts else {
                let until = attempts > 0 ? window.first.map { $0.at.adding(ms: Int64(intervalMs)) } : nil
                return .exhausted(attempts: attempts, until: until)
            }
            attempt = window.count
        }
        let delay = delayFunction.delay(attempt: attempt, baseMs: delayMs, maxMs: maxDelayMs)
        return .reschedule(at: lostAt.adding(ms: Int64(delay)), attempt: attempt)
    }

    /// The events of `history` that can still count for a decision at `now` (the rest can be dropped).
    public func relevant(_ history: [RescheduleEvent], now: Timestamp) -> [RescheduleEvent] {
        if unlimited {
            // A streak reaches back at most until the delay stops growing; keep a bounded tail.
            return Array(history.sorted { $0.at < $1.at }.suffix(32))
        }
        return Array(history.filter { now.milliseconds(since: $0.at) < Int64(intervalMs) }.sorted { $0.at < $1.at }.suffix(max(attempts, 1)))
    }
}
