import Foundation
import MNCore
import Testing

@testable import mnctl

@Suite("mnctl deployment status text")
struct StatusRenderTests {
    let t0 = Timestamp(milliseconds: 1_800_000_000_000)

    func deployment() throws -> Deployment {
        let v1 = Manifest(key: "shop", agents: [AgentSpec(id: "web", count: 2, workload: .image("web:1"))])
        var v2 = v1
        v2.agents[0].workload = .image("web:2")
        var deployment = Deployment(first: v1, at: t0)
        deployment.markStable(1)
        _ = try deployment.append(v2, at: t0)
        return deployment
    }

    @Test("a rollout says what it waits for and when its deadline fires; the health table counts per version")
    func waitingAndDeadline() throws {
        var record = try deployment()
        record.status = .deploying
        var rollout = RolloutState(target: 2, strategy: .rolling, now: t0)
        rollout.placedAt = ["web/0": t0]
        rollout.waitingFor = "web/0 to become healthy"
        rollout.deadline = t0.adding(ms: 250_000)
        record.rollout = rollout
        record.health = [
            HealthSummary(version: 1, desired: 2, placed: 2, healthy: 2), HealthSummary(version: 2, desired: 1, placed: 1, unhealthy: 1),
        ]
        let text = DeploymentStatusCommand.render(DeploymentView(record, reports: []), events: 3, now: t0.adding(ms: 10_000))
        #expect(text.contains("Rollout to v2 (rolling): 0 done, in progress: web/0"))
        #expect(text.contains("waiting for web/0 to become healthy"))
        #expect(text.contains("fails at \(formatTime(t0.adding(ms: 250_000))) (in 4m 0s) if nothing progresses"))
        #expect(text.contains("  v2       1        1       0        1"), "\(text)")
    }

    @Test("a validation failure names the state, the reason, and the way to retry; JSON carries the same")
    func validationFailure() throws {
        var record = try deployment()
        record.status = .failed
        record.failure = DeploymentFailure(version: 2, phase: .validating, reason: "agent 'web': image 'web:2' is not on node n1", at: t0)
        let view = DeploymentView(record, reports: [])
        let text = DeploymentStatusCommand.render(view, events: 3, now: t0)
        #expect(text.contains("status Failed"))
        #expect(text.contains("Failed in Validating (v2, \(formatTime(t0))): agent 'web': image 'web:2' is not on node n1"))
        #expect(text.contains("nothing of v2 started; fix it, then: mnctl deployment resume shop"))
        let json = try JSONSerialization.jsonObject(with: Data(jsonText(view).utf8)) as? [String: Any]
        let failure = json?["failure"] as? [String: Any]
        #expect(failure?["phase"] as? String == "validating" && failure?["version"] as? Int == 2)
    }

    @Test("a batch deployment whose runs all ended is Complete, saying how the last run ended; while one runs it is Running")
    func batchComplete() throws {
        let report = Manifest(key: "report", type: .batch, agents: [AgentSpec(id: "job", workload: .image("job:1"))])
        var record = Deployment(first: report, at: t0)
        record.status = .running
        #expect(DeploymentView(record, reports: []).status == "Running")
        record.finishRun(1, outcome: .complete, at: t0.adding(ms: 1_000))
        let view = DeploymentView(record, reports: [])
        #expect(view.status == "Complete" && view.succeeded && view.isTerminal)
        #expect(DeploymentStatusCommand.render(view, events: 3, now: t0).contains("No run is active; run 1 (v1) ended: complete."))
    }

    @Test("status shows the stable version, what a rollback would restore, and the update policy with its sources")
    func stableAndRollback() throws {
        var record = try deployment()
        record.status = .running
        record.markStable(2)
        let text = DeploymentStatusCommand.render(DeploymentView(record, reports: []), events: 3, now: t0)
        #expect(text.contains("status Running   version 2   stable v2"))
        #expect(text.contains("rollback would restore v1 (mnctl deployment rollback shop --version 1)"))
        #expect(text.contains("Update policy (runs rolling):"))
        let first = Deployment(first: Manifest(key: "one", agents: [AgentSpec(id: "web", workload: .image("web:1"))]), at: t0)
        #expect(DeploymentStatusCommand.render(DeploymentView(first, reports: []), events: 3, now: t0).contains("rollback would restore nothing"))
    }
}
