import MNAgent
import MNCore
import MNReconcile
import MNReconcileTestSupport
import MNTestSupport
import Testing

@Suite("Restart backoff follows the policy")
struct RestartBackoffTests {
    /// Crashes the instance right after every restart and records when restarts happen.
    func restartTimes(policy: RestartPolicy, crashes: Int) async throws -> (times: [Int64], final: InstancePhase?) {
        let instance = Fixture.desired(restart: policy)
        let runtime = FakeContainerRuntime()
        var loop = Loop(runtime: runtime, desired: [instance])
        var now = Fixture.t0
        _ = try await loop.tick(at: now)
        var times: [Int64] = []
        var phase: InstancePhase?
        for _ in 0..<crashes {
            guard let id = try await runtime.listManaged().first?.id else { break }
            await runtime.kill(id)
            var plan = try await loop.tick(at: now)
            // Follow requeueAfter exactly, as the agent does, until the restart happens.
            while plan.actions.isEmpty, let wait = plan.requeueAfter {
                now = now.adding(ms: wait.components.seconds * 1_000 + wait.components.attoseconds / 1_000_000_000_000_000)
                plan = try await loop.tick(at: now)
            }
            phase = plan.instances.first?.phase
            guard !plan.actions.isEmpty else { break }
            times.append(now.milliseconds(since: Fixture.t0))
        }
        return (times, phase)
    }

    @Test("exponential backoff, then Failed in fail mode")
    func exponentialThenFail() async throws {
        let (times, final) = try await restartTimes(policy: Fixture.policy(attempts: 3, delayMs: 1_000, maxDelayMs: 30_000), crashes: 5)
        #expect(times == [1_000, 3_000, 7_000])
        guard case .failed(let reason, nil) = final else {
            Issue.record("expected Failed after 3 restarts, got \(String(describing: final))")
            return
        }
        #expect(reason.contains("restarted 3 times"))
    }

    @Test("backoff is capped by max_delay_ms")
    func capped() async throws {
        let (times, _) = try await restartTimes(
            policy: Fixture.policy(attempts: 10, delayMs: 1_000, maxDelayMs: 3_000), crashes: 5)
        #expect(times == [1_000, 3_000, 6_000, 9_000, 12_000])
    }

    @Test("delay mode waits for the window to reopen instead of failing")
    func delayModeWaitsForWindow() async throws {
        let (times, _) = try await restartTimes(
            policy: Fixture.policy(attempts: 2, intervalMs: 10_000, delayMs: 1_000, function: .constant, mode: .delay), crashes: 4)
        // Restarts at 1 s and 2 s fill the window; the first leaves it at 11 s, the second at 12 s.
        #expect(times == [1_000, 2_000, 11_000, 12_000])
    }

    @Test("an earlier restart leaving the interval makes the next one due sooner, and requeue says so")
    func windowExpiryShortensTheWait() {
        let policy = Fixture.policy(attempts: 5, intervalMs: 10_000, delayMs: 1_000, function: .exponential)
        // One restart 9.5 s ago still counts: the delay is 2 s. It leaves the window in 0.5 s,
        // after which the delay is 1 s, already over since the instance went down 1.2 s ago.
        let decision = RestartDecision.decide(
            policy: policy, restarts: [Fixture.t0.adding(ms: -9_500)], downSince: Fixture.t0.adding(ms: -1_200), now: Fixture.t0)
        #expect(decision == .wait(until: Fixture.t0.adding(ms: 500)))
    }

    @Test("attempts 0 never restarts")
    func noRestarts() {
        let decision = RestartDecision.decide(
            policy: Fixture.policy(attempts: 0), restarts: [], downSince: Fixture.t0, now: Fixture.t0.adding(ms: 100_000))
        guard case .exhausted = decision else {
            Issue.record("expected exhausted, got \(decision)")
            return
        }
    }
}
