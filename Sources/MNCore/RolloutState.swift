/// A rollout's memory between decisions: when it started and last progressed, when each
/// new instance was placed and became healthy, and which units are done.
public struct RolloutState: Hashable, Sendable, Codable {
    /// The version being rolled out.
    public var target: Int
    public var startedAt: Timestamp
    /// The last time a unit finished (or the start): the progress deadline counts from here.
    public var lastProgressAt: Timestamp
    /// Units (agent/index) whose new instance is placed, with when.
    public var placedAt: [String: Timestamp]
    /// Units whose new instance is healthy, with since when (cleared if it stops being healthy).
    public var healthySince: [String: Timestamp]
    /// Units that finished: the new instance stayed healthy for `min_healthy_ms`.
    public var done: Set<String>
    /// When the canaries were promoted (canary strategy), by an operator or `auto_promote`.
    public var promotedAt: Timestamp?

    /// A fresh rollout to `target`, starting at `now`.
    public init(target: Int, now: Timestamp) {
        self.target = target
        self.startedAt = now
        self.lastProgressAt = now
        self.placedAt = [:]
        self.healthySince = [:]
        self.done = []
        self.promotedAt = nil
    }

    enum CodingKeys: String, CodingKey {
        case target, done
        case startedAt = "started_at"
        case lastProgressAt = "last_progress_at"
        case placedAt = "placed_at"
        case healthySince = "healthy_since"
        case promotedAt = "promoted_at"
    }
}
