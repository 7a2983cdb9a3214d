/// A rollout's memory between decisions: when it started and last progressed, when each
/// new instance was placed and became healthy, and which units are done.
public struct RolloutState: Hashable, Sendable, Codable {
    /// The version being rolled out.
    public var target: Int
    /// The strategy the rollout runs: the policy's, or blue-green when the topology changed.
    public var strategy: UpdatePolicy.Strategy
    public var startedAt: Timestamp
    /// The last time a unit finished (or the start): the progress deadline counts from here.
    public var lastProgressAt: Timestamp
    /// Units (agent/index) whose new instance is placed, with when.
    public var placedAt: [String: Timestamp]
    /// Units whose new instance is healthy, with since when (cleared if it stops being healthy).
    public var healthySince: [String: Timestamp]
    /// Units that finished: the new instance stayed healthy for `min_healthy_ms`.
    public var done: Set<String>
    /// When the canaries (or the blue-green target) were promoted, by an operator or `auto_promote`.
    public var promotedAt: Timestamp?
    /// Whether the first wave (canaries, or the whole blue-green target) is healthy and waits
    /// for a promotion: the only time `promote` is accepted.
    public var awaitingPromotion: Bool
    /// What the rollout waits for, in words, as of the last decision.
    public var waitingFor: String
    /// When the rollout fails if nothing changes (`nil` while it waits for a person).
    public var deadline: Timestamp?

    /// A fresh rollout to `target`, starting at `now`.
    public init(target: Int, strategy: UpdatePolicy.Strategy = .rolling, now: Timestamp) {
        self.target = target
        self.strategy = strategy
        self.startedAt = now
        self.lastProgressAt = now
        self.placedAt = [:]
        self.healthySince = [:]
        self.done = []
        self.promotedAt = nil
        self.awaitingPromotion = false
        self.waitingFor = ""
        self.deadline = nil
    }

    /// Whether the rollout stops for a promotion (canary and blue-green).
    public var needsPromotion: Bool { strategy != .rolling }

    enum CodingKeys: String, CodingKey {
        case target, strategy, done, deadline
        case startedAt = "started_at"
        case lastProgressAt = "last_progress_at"
        case placedAt = "placed_at"
        case healthySince = "healthy_since"
        case promotedAt = "promoted_at"
        case waitingFor = "waiting_for"
        case awaitingPromotion = "awaiting_promotion"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = try container.decode(Int.self, forKey: .target)
        strategy = try container.decodeIfPresent(UpdatePolicy.Strategy.self, forKey: .strategy) ?? .rolling
        startedAt = try container.decode(Timestamp.self, forKey: .startedAt)
        lastProgressAt = try container.decode(Timestamp.self, forKey: .lastProgressAt)
        placedAt = try container.decode([String: Timestamp].self, forKey: .placedAt)
        healthySince = try container.decode([String: Timestamp].self, forKey: .healthySince)
        done = try container.decode(Set<String>.self, forKey: .done)
        promotedAt = try container.decodeIfPresent(Timestamp.self, forKey: .promotedAt)
        awaitingPromotion = try container.decodeIfPresent(Bool.self, forKey: .awaitingPromotion) ?? false
        waitingFor = try container.decodeIfPresent(String.self, forKey: .waitingFor) ?? ""
        deadline = try container.decodeIfPresent(Timestamp.self, forKey: .deadline)
    }

    /// Encodes ``done`` sorted, so the same state is always the same bytes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(strategy, forKey: .strategy)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(lastProgressAt, forKey: .lastProgressAt)
        try container.encode(placedAt, forKey: .placedAt)
        try container.encode(healthySince, forKey: .healthySince)
        try container.encode(done.sorted(), forKey: .done)
        try container.encodeIfPresent(promotedAt, forKey: .promotedAt)
        try container.encode(awaitingPromotion, forKey: .awaitingPromotion)
        try container.encode(waitingFor, forKey: .waitingFor)
        try container.encodeIfPresent(deadline, forKey: .deadline)
    }
}
