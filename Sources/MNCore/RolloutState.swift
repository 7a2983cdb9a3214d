/// One unit of a rollout: instance `index` of agent `agent`, written `agent/index`.
public struct RolloutUnit: Hashable, Sendable, CustomStringConvertible {
    public var agent: AgentID
    public var index: Int

    /// Creates a unit.
    public init(agent: AgentID, index: Int) {
        self.agent = agent
        self.index = index
    }

    /// Reads `agent/index`; `nil` if `text` is not in that form.
    public init?(_ text: String) {
        guard let slash = text.lastIndex(of: "/"), slash != text.startIndex, let index = Int(text[text.index(after: slash)...]),
            index >= 0
        else { return nil }
        self.init(agent: AgentID(String(text[..<slash])), index: index)
    }

    /// `agent/index`.
    public var description: String { "\(agent)/\(index)" }
}

/// Where one unit's new instance stands in a rollout.
public struct UnitProgress: Hashable, Sendable {
    /// When the new instance was placed.
    public var placedAt: Timestamp?
    /// Since when it has been healthy (cleared if it stops being healthy).
    public var healthySince: Timestamp?
    /// It stayed healthy for `min_healthy_ms`: the unit is finished.
    public var done: Bool

    /// Creates a unit's progress; nothing placed by default.
    public init(placedAt: Timestamp? = nil, healthySince: Timestamp? = nil, done: Bool = false) {
        self.placedAt = placedAt
        self.healthySince = healthySince
        self.done = done
    }

    /// Nothing recorded.
    public var isEmpty: Bool { placedAt == nil && healthySince == nil && !done }
}

/// A rollout's memory between decisions: when it started and last progressed, when each
/// new instance was placed and became healthy, and which units are done.
///
/// Units are kept per agent in arrays indexed by instance index, so a decision over N
/// instances looks each one up by position, not by hashing a name. The JSON form keys them
/// by name (`placed_at`, `healthy_since`: `{"agent/index": time}`, `done`: sorted names).
public struct RolloutState: Hashable, Sendable, Codable {
    /// The version being rolled out.
    public var target: Int
    /// The strategy the rollout runs: the policy's, or blue-green when the topology changed.
    public var strategy: UpdatePolicy.Strategy
    public var startedAt: Timestamp
    /// The last time a unit finished (or the start): the progress deadline counts from here.
    public var lastProgressAt: Timestamp
    /// Each agent's units, by instance index. Never holds an empty array or a trailing empty
    /// entry, so two states with the same progress are equal.
    public private(set) var units: [AgentID: [UnitProgress]]
    /// When the canaries (or the blue-green target) were promoted, by an operator or `auto_promote`.
    public var promotedAt: Timestamp?
    /// Whether the first wave (canaries, or the whole blue-green target) is healthy and waits
    /// for a promotion.
    public var awaitingPromotion: Bool
    /// When an operator asked for the promotion before the first wave was healthy: it happens
    /// as soon as the wave is (as `auto_promote` would), so `promote` never depends on timing.
    public var promotionRequestedAt: Timestamp?
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
        self.units = [:]
        self.promotedAt = nil
        self.awaitingPromotion = false
        self.promotionRequestedAt = nil
        self.waitingFor = ""
        self.deadline = nil
    }

    /// Whether the rollout stops for a promotion (canary and blue-green).
    public var needsPromotion: Bool { strategy != .rolling }

    // MARK: Units

    /// `agent`'s units by instance index (shorter than its count when the last ones have no progress).
    public func progress(of agent: AgentID) -> [UnitProgress] { units[agent] ?? [] }

    /// Replaces `agent`'s units.
    public mutating func setProgress(_ progress: [UnitProgress], of agent: AgentID) {
        var progress = progress
        while progress.last?.isEmpty == true { progress.removeLast() }
        units[agent] = progress.isEmpty ? nil : progress
    }

    /// One unit's progress.
    public subscript(unit: RolloutUnit) -> UnitProgress {
        get {
            guard let progress = units[unit.agent], unit.index < progress.count else { return UnitProgress() }
            return progress[unit.index]
        }
        set {
            // In place: one unit written is O(1), not a copy of the agent's units.
            let count = units[unit.agent]?.count ?? 0
            if unit.index >= count {
                guard !newValue.isEmpty else { return }
                units[unit.agent, default: []].append(contentsOf: repeatElement(UnitProgress(), count: unit.index + 1 - count))
            }
            units[unit.agent]?[unit.index] = newValue
            guard newValue.isEmpty else { return }
            while units[unit.agent]?.last?.isEmpty == true { units[unit.agent]?.removeLast() }
            if units[unit.agent]?.isEmpty == true { units[unit.agent] = nil }
        }
    }

    /// Every unit with progress, with it, sorted by agent and index.
    public var allUnits: [(unit: RolloutUnit, progress: UnitProgress)] {
        units.keys.sorted().flatMap { agent in
            units[agent]!.enumerated().compactMap { index, progress in
                progress.isEmpty ? nil : (RolloutUnit(agent: agent, index: index), progress)
            }
        }
    }

    /// Units (by name) whose new instance is placed, with when.
    public var placedAt: [String: Timestamp] {
        get { view(\.placedAt) }
        set { setView(\.placedAt, newValue) }
    }

    /// Units (by name) whose new instance is healthy, with since when.
    public var healthySince: [String: Timestamp] {
        get { view(\.healthySince) }
        set { setView(\.healthySince, newValue) }
    }

    /// Units (by name) that finished: the new instance stayed healthy for `min_healthy_ms`.
    public var done: Set<String> {
        get { Set(allUnits.filter(\.progress.done).map(\.unit.description)) }
        set {
            for (unit, _) in allUnits { self[unit].done = false }
            for name in newValue { self[Self.unit(name)].done = true }
        }
    }

    private func view(_ field: KeyPath<UnitProgress, Timestamp?>) -> [String: Timestamp] {
        Dictionary(uniqueKeysWithValues: allUnits.compactMap { unit, progress in progress[keyPath: field].map { (unit.description, $0) } })
    }

    private mutating func setView(_ field: WritableKeyPath<UnitProgress, Timestamp?>, _ values: [String: Timestamp]) {
        for (unit, _) in allUnits { self[unit][keyPath: field] = nil }
        for (name, time) in values { self[Self.unit(name)][keyPath: field] = time }
    }

    private static func unit(_ name: String) -> RolloutUnit {
        guard let unit = RolloutUnit(name) else { preconditionFailure("'\(name)' is not a rollout unit (agent/index)") }
        return unit
    }

    // MARK: Coding

    enum CodingKeys: String, CodingKey {
        case target, strategy, done, deadline
        case startedAt = "started_at"
        case lastProgressAt = "last_progress_at"
        case placedAt = "placed_at"
        case healthySince = "healthy_since"
        case promotedAt = "promoted_at"
        case waitingFor = "waiting_for"
        case awaitingPromotion = "awaiting_promotion"
        case promotionRequestedAt = "promotion_requested_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = try container.decode(Int.self, forKey: .target)
        strategy = try container.decodeIfPresent(UpdatePolicy.Strategy.self, forKey: .strategy) ?? .rolling
        startedAt = try container.decode(Timestamp.self, forKey: .startedAt)
        lastProgressAt = try container.decode(Timestamp.self, forKey: .lastProgressAt)
        promotedAt = try container.decodeIfPresent(Timestamp.self, forKey: .promotedAt)
        awaitingPromotion = try container.decodeIfPresent(Bool.self, forKey: .awaitingPromotion) ?? false
        promotionRequestedAt = try container.decodeIfPresent(Timestamp.self, forKey: .promotionRequestedAt)
        waitingFor = try container.decodeIfPresent(String.self, forKey: .waitingFor) ?? ""
        deadline = try container.decodeIfPresent(Timestamp.self, forKey: .deadline)
        units = [:]
        func unit(_ name: String, _ key: CodingKeys) throws -> RolloutUnit {
            guard let unit = RolloutUnit(name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "'\(name)' is not a rollout unit (agent/index)")
            }
            return unit
        }
        for (name, time) in try container.decode([String: Timestamp].self, forKey: .placedAt) {
            self[try unit(name, .placedAt)].placedAt = time
        }
        for (name, time) in try container.decode([String: Timestamp].self, forKey: .healthySince) {
            self[try unit(name, .healthySince)].healthySince = time
        }
        for name in try container.decode([String].self, forKey: .done) { self[try unit(name, .done)].done = true }
    }

    /// Encodes units by name, `done` sorted, so the same state is always the same bytes.
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
        try container.encodeIfPresent(promotionRequestedAt, forKey: .promotionRequestedAt)
        try container.encode(waitingFor, forKey: .waitingFor)
        try container.encodeIfPresent(deadline, forKey: .deadline)
    }
}
