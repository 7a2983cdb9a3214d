/// How the delay between attempts grows.
public enum DelayFunction: String, CaseIterable, Hashable, Sendable, Codable {
    /// Always `delay_ms`.
    case constant
    /// `delay_ms`, doubled for each earlier attempt in the window, capped by `max_delay_ms`.
    case exponential
    /// `delay_ms` times the Fibonacci sequence (1, 1, 2, 3, 5, …), capped by `max_delay_ms`.
    case fibonacci

    /// The delay before attempt number `attempt` (0 for the first), in milliseconds.
    public func delay(attempt: Int, baseMs: Int, maxMs: Int) -> Int {
        let cap = max(baseMs, maxMs)
        switch self {
        case .constant:
            return baseMs
        case .exponential:
            var delay = baseMs
            for _ in 0..<attempt where delay < cap { delay = delay > cap / 2 ? cap : delay * 2 }
            return min(delay, cap)
        case .fibonacci:
            var (previous, current) = (0, baseMs)
            for _ in 0..<attempt where current < cap {
                (previous, current) = (current, current > cap - previous ? cap : previous + current)
            }
            return min(current, cap)
        }
    }
}

/// What the node does when an instance's process exits (`policies.restart`, seed 002).
public struct RestartPolicy: Hashable, Sendable, Encodable {
    /// What happens once `attempts` restarts were used within `interval_ms`.
    public enum Mode: String, CaseIterable, Hashable, Sendable, Codable {
        /// Stop restarting; the instance is Failed until its spec changes.
        case fail
        /// Wait until the oldest attempt leaves the window, then restart again.
        case delay
    }

    /// Restarts allowed within one `interval_ms` window (0: never restart).
    public var attempts: Int
    public var intervalMs: Int
    /// Base delay before a restart.
    public var delayMs: Int
    public var delayFunction: DelayFunction
    public var maxDelayMs: Int
    public var mode: Mode

    /// The defaults: the restart policy of seed 002.
    public static let defaults = RestartPolicy(
        attempts: 3, intervalMs: 600_000, delayMs: 1_000, delayFunction: .exponential,
        maxDelayMs: 30_000, mode: .fail)

    /// Creates a restart policy.
    public init(attempts: Int, intervalMs: Int, delayMs: Int, delayFunction: DelayFunction, maxDelayMs: Int, mode: Mode) {
        self.attempts = attempts
        self.intervalMs = intervalMs
        self.delayMs = delayMs
        self.delayFunction = delayFunction
        self.maxDelayMs = maxDelayMs
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey {
        case attempts, mode
        case intervalMs = "interval_ms"
        case delayMs = "delay_ms"
        case delayFunction = "delay_function"
        case maxDelayMs = "max_delay_ms"
    }
}

/// Moving an instance to another node after it failed there (`policies.reschedule`, seed 002).
public struct ReschedulePolicy: Hashable, Sendable, Encodable {
    /// Reschedule without limit (then `attempts` and `interval_ms` are not used).
    public var unlimited: Bool
    /// Reschedules allowed within `interval_ms` when not unlimited.
    public var attempts: Int
    public var intervalMs: Int
    public var delayMs: Int
    public var delayFunction: DelayFunction
    public var maxDelayMs: Int

    /// The defaults: the reschedule policy of seed 002.
    public static let defaults = ReschedulePolicy(
        unlimited: true, attempts: 0, intervalMs: 0, delayMs: 5_000, delayFunction: .exponential,
        maxDelayMs: 300_000)

    /// Creates a reschedule policy.
    public init(unlimited: Bool, attempts: Int, intervalMs: Int, delayMs: Int, delayFunction: DelayFunction, maxDelayMs: Int) {
        self.unlimited = unlimited
        self.attempts = attempts
        self.intervalMs = intervalMs
        self.delayMs = delayMs
        self.delayFunction = delayFunction
        self.maxDelayMs = maxDelayMs
    }

    enum CodingKeys: String, CodingKey {
        case unlimited, attempts
        case intervalMs = "interval_ms"
        case delayMs = "delay_ms"
        case delayFunction = "delay_function"
        case maxDelayMs = "max_delay_ms"
    }
}

/// The manifest's `policies` section.
public struct Policies: Hashable, Sendable, Encodable {
    public var update: UpdatePolicy
    public var restart: RestartPolicy
    public var reschedule: ReschedulePolicy

    /// Every policy at its default.
    public static let defaults = Policies(update: .defaults, restart: .defaults, reschedule: .defaults)

    /// Creates the policies section.
    public init(update: UpdatePolicy, restart: RestartPolicy, reschedule: ReschedulePolicy) {
        self.update = update
        self.restart = restart
        self.reschedule = reschedule
    }
}
