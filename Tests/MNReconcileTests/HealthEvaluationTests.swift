import MNCore
import MNReconcile
import Testing

@Suite("Health check scheduling and verdicts")
struct HealthEvaluationTests {
    let http = HealthCheck(name: "http", probe: .http(port: 80, path: "/"), intervalMs: 1_000, timeoutMs: 500)
    let tcp = HealthCheck(name: "tcp", probe: .tcp(port: 80), intervalMs: 5_000, timeoutMs: 500)
    let t0 = Timestamp(milliseconds: 100_000)

    @Test("never-run checks are due; others when their interval has passed, and the next due time is the earliest")
    func due() {
        let latest = ["http": CheckResult(check: "http", passed: true, at: t0.adding(ms: -400))]
        let (due, next) = HealthEvaluation.due([http, tcp], latest: latest, now: t0)
        #expect(due.map(\.name) == ["tcp"])
        #expect(next == t0.adding(ms: 600))
        let later = HealthEvaluation.due([http, tcp], latest: latest, now: t0.adding(ms: 600))
        #expect(later.due.map(\.name) == ["http", "tcp"])
    }

    @Test(
        "verdicts",
        arguments: [
            ([Bool?](), ObservedContainer.Health.none),
            ([true, nil], .starting),
            ([true, true], .healthy),
            ([true, false], .unhealthy),
            ([false, nil], .unhealthy),
        ])
    func verdict(_ outcomes: [Bool?], _ expected: ObservedContainer.Health) {
        let checks = Array([http, tcp].prefix(outcomes.count))
        var latest: [String: CheckResult] = [:]
        for (check, outcome) in zip(checks, outcomes) {
            if let outcome { latest[check.name] = CheckResult(check: check.name, passed: outcome, at: t0) }
        }
        #expect(HealthEvaluation.health(of: checks, latest: latest) == expected)
    }
}
