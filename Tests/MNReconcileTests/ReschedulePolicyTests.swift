import MNCore
import Testing

@Suite("Reschedule policy: delays and attempts")
struct ReschedulePolicyTests {
    static let t0 = Timestamp(milliseconds: 10_000_000)
    static let web = InstanceID(key: "web", agent: "web", index: 0)

    /// A reschedule of `web/0` placed at `at` (seconds after t0), lost `lostBefore` seconds before.
    static func event(at: Int64, lostBefore: Int64 = 5) -> RescheduleEvent {
        RescheduleEvent(instance: web, from: "a", to: "b", lostAt: t0.adding(ms: (at - lostBefore) * 1_000), at: t0.adding(ms: at * 1_000))
    }

    static func limited(_ attempts: Int, intervalMs: Int, delayMs: Int = 1_000, function: DelayFunction = .constant, maxDelayMs: Int = 60_000)
        -> ReschedulePolicy
    {
        ReschedulePolicy(unlimited: false, attempts: attempts, intervalMs: intervalMs, delayMs: delayMs, delayFunction: function, maxDelayMs: maxDelayMs)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let policy: ReschedulePolicy
        /// Earlier reschedules: placed at (seconds after t0).
        let history: [Int64]
        /// Lost at, seconds after t0 (also "now").
        let lostAt: Int64
        let expected: ReschedulePolicy.Decision
        var testDescription: String { name }
    }

    static func at(_ seconds: Int64, plusMs ms: Int64 = 0) -> Timestamp { t0.adding(ms: seconds * 1_000 + ms) }

    @Test(
        "when an instance lost at a time moves, or why it does not",
        arguments: [
            Case(name: "defaults: unlimited, 5 s, first loss", policy: .defaults, history: [], lostAt: 100, expected: .reschedule(at: at(105), attempt: 0)),
            Case(
                name: "unlimited exponential: a copy lost again soon waits twice as long", policy: .defaults, history: [60], lostAt: 100,
                expected: .reschedule(at: at(110), attempt: 1)),
            Case(
                name: "unlimited exponential: a streak of three", policy: .defaults, history: [20, 60], lostAt: 100,
                expected: .reschedule(at: at(120), attempt: 2)),
            Case(
                name: "unlimited: a copy that stayed up longer than max_delay_ms starts from delay_ms again", policy: .defaults,
                history: [20, 60], lostAt: 60 + 301, expected: .reschedule(at: at(366), attempt: 0)),
            Case(
                name: "limited: attempts left in the window, constant delay", policy: limited(2, intervalMs: 600_000), history: [50],
                lostAt: 100, expected: .reschedule(at: at(101), attempt: 1)),
            Case(
                name: "limited: exhausted until the oldest attempt leaves the window", policy: limited(2, intervalMs: 600_000),
                history: [50, 90], lostAt: 100, expected: .exhausted(attempts: 2, until: at(650))),
            Case(
                name: "limited: an attempt outside the window does not count", policy: limited(1, intervalMs: 60_000), history: [30],
                lostAt: 100, expected: .reschedule(at: at(101), attempt: 0)),
            Case(
                name: "limited fibonacci, capped", policy: limited(10, intervalMs: 600_000, delayMs: 2_000, function: .fibonacci, maxDelayMs: 5_000),
                history: [10, 20, 30, 40], lostAt: 100, expected: .reschedule(at: at(105), attempt: 4)),
            Case(
                name: "limited exponential, capped", policy: limited(10, intervalMs: 600_000, delayMs: 2_000, function: .exponential, maxDelayMs: 10_000),
                history: [10, 20], lostAt: 100, expected: .reschedule(at: at(108), attempt: 2)),
            Case(name: "no attempts at all", policy: limited(0, intervalMs: 0), history: [], lostAt: 100, expected: .exhausted(attempts: 0, until: nil)),
        ])
    func decide(_ c: Case) {
        let history = c.history.map { Self.event(at: $0) }
        #expect(c.policy.decide(lostAt: Self.at(c.lostAt), history: history, now: Self.at(c.lostAt)) == c.expected)
    }

    @Test("the history kept is what can still count: the window's attempts, or a bounded tail when unlimited")
    func relevant() {
        let policy = Self.limited(2, intervalMs: 60_000)
        let history = [10, 50, 80, 90].map { Self.event(at: $0) }
        #expect(policy.relevant(history, now: Self.at(100)).map(\.at) == [Self.at(80), Self.at(90)])
        let many = (0..<50).map { Self.event(at: Int64($0) * 10) }
        #expect(ReschedulePolicy.defaults.relevant(many, now: Self.at(1_000)).count == 32)
    }
}
