/// How a new version replaces the old one (`policies.update`).
///
/// Every field has the default of the MirrorNeuron deployments table; a manifest
/// that omits `policies.update` gets ``UpdatePolicy/defaults``.
public struct UpdatePolicy: Hashable, Sendable, Encodable {
    /// How instances of the new version are brought in.
    public enum Strategy: String, CaseIterable, Hashable, Sendable, Codable {
        /// Replace changed agents in batches capped by `max_parallel`.
        case rolling
        /// Place `canary` new instances beside the old and pause until promoted.
        case canary
        /// Start the whole target version beside the old one, then promote and retire the old.
        case blueGreen = "blue-green"
    }

    /// What "healthy" means for an instance during a rollout.
    public enum HealthSignal: String, CaseIterable, Hashable, Sendable, Codable {
        /// Running, and every declared health check passing.
        case checks
        /// Running only.
        case agentStates = "agent_states"
    }

    public var strategy: Strategy
    /// Most instances replaced at once (at least 1).
    public var maxParallel: Int
    /// Canary instances placed before promotion (canary strategy only).
    public var canary: Int
    /// How long an instance must stay healthy before it counts as healthy.
    public var minHealthyMs: Int
    /// An instance not healthy by this long after it started is unhealthy.
    public var healthyDeadlineMs: Int
    /// A deployment that makes no progress for this long fails.
    public var progressDeadlineMs: Int
    public var healthCheck: HealthSignal
    /// Promote canaries on their own once they are healthy.
    public var autoPromote: Bool
    /// On failure, roll back to the last stable version.
    public var autoRevert: Bool

    /// The defaults table of the deployments design.
    public static let defaults = UpdatePolicy(
        strategy: .rolling, maxParallel: 1, canary: 0, minHealthyMs: 10_000,
        healthyDeadlineMs: 300_000, progressDeadlineMs: 600_000, healthCheck: .checks,
        autoPromote: false, autoRevert: false)

    /// Creates a policy; see ``defaults`` for the values a manifest gets when silent.
    public init(
        strategy: Strategy, maxParallel: Int, canary: Int, minHealthyMs: Int, healthyDeadlineMs: Int,
        progressDeadlineMs: Int, healthCheck: HealthSignal, autoPromote: Bool, autoRevert: Bool
    ) {
        self.strategy = strategy
        self.maxParallel = maxParallel
        self.canary = canary
        self.minHealthyMs = minHealthyMs
        self.healthyDeadlineMs = healthyDeadlineMs
        self.progressDeadlineMs = progressDeadlineMs
        self.healthCheck = healthCheck
        self.autoPromote = autoPromote
        self.autoRevert = autoRevert
    }

    enum CodingKeys: String, CodingKey {
        case strategy, canary
        case maxParallel = "max_parallel"
        case minHealthyMs = "min_healthy_ms"
        case healthyDeadlineMs = "healthy_deadline_ms"
        case progressDeadlineMs = "progress_deadline_ms"
        case healthCheck = "health_check"
        case autoPromote = "auto_promote"
        case autoRevert = "auto_revert"
    }
}
