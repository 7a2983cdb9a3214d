import Foundation
import MNCore
import Testing

@Suite("Batch runs: versioned rerun history")
struct BatchRunTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    func batch(_ day: String, type: Manifest.JobType = .batch) -> Manifest {
        Manifest(key: "report", type: type, agents: [AgentSpec(id: "report", workload: .image("r:1"), env: ["DAY": day])])
    }

    @Test("each new version of a batch job is a new run; a rerun repeats the latest version; history is only appended")
    func runsFollowVersions() throws {
        var deployment = Deployment(first: batch("mon"), at: t0)
        #expect(deployment.runs.map { [$0.number, $0.version] } == [[1, 1]])
        let finished = deployment.finishRun(1, outcome: .complete, at: t0.adding(ms: 10))
        let again = deployment.finishRun(1, outcome: .failed(reason: "late"), at: t0.adding(ms: 20))
        #expect(finished && !again, "an ended run stays as it ended")
        #expect(deployment.status == .running)

        let rerun = try deployment.rerun(at: t0.adding(ms: 30))
        #expect(rerun.number == 2 && rerun.version == 1)
        var refused = false
        do { _ = try deployment.rerun(at: t0.adding(ms: 40)) } catch { refused = true }
        #expect(refused, "a run in progress is never replaced by a rerun")

        _ = try deployment.append(batch("tue"), at: t0.adding(ms: 50))
        #expect(
            deployment.runs.map { [$0.number, $0.version] } == [[1, 1], [2, 1], [3, 2]], "a new version starts a new run beside the old")
        let failed = deployment.finishRun(3, outcome: .failed(reason: "report/0: exited 1"), at: t0.adding(ms: 60))
        #expect(failed)
        #expect(deployment.status == .failed && deployment.failure?.reason == "run 3 failed: report/0: exited 1")
        #expect(deployment.runs[0].outcome == .complete)
        // Stored as records always stored it: "complete", "failed: <reason>".
        let stored = try JSONDecoder().decode(Deployment.self, from: JSONEncoder().encode(deployment))
        #expect(stored.runs.map(\.outcome) == deployment.runs.map(\.outcome))
        #expect(String(decoding: try JSONEncoder().encode(deployment.runs[2]), as: UTF8.self).contains(#""outcome":"failed: report\/0: exited 1""#))
    }

    @Test("a service is not rerun: it runs until stopped")
    func serviceIsNotRerun() {
        var deployment = Deployment(first: batch("mon", type: .service), at: t0)
        #expect(deployment.runs.isEmpty)
        var refused = false
        do { _ = try deployment.rerun(at: t0) } catch { refused = true }
        #expect(refused)
    }
}
