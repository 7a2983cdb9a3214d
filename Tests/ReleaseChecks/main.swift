// mn-release-checks: checks that only mean something in an optimised build. scripts/test.sh
// runs it built with -c release (and, to compare, in debug). It exits 1 on the first failure.
//
// Why it exists: Swift 6.3.1's optimiser miscompiled the plan executor's task group (every
// action's outcome came back for action 0), so a release mnagent crashed at its first plan
// while every debug test passed. See docs/compiler-bugs/task-group-tuple-result.md.
import Foundation
import MNAgent
import MNCore
import MNReconcile
import MNReconcileTestSupport
import MNTestSupport

var failures = 0

@MainActor func check(_ name: String, _ condition: Bool, _ detail: @autoclosure () -> String = "") {
    if condition {
        print("ok: \(name)")
    } else {
        failures += 1
        print("FAILED: \(name)\(detail().isEmpty ? "" : ": \(detail())")")
    }
}

let now = Timestamp(milliseconds: 1_000_000)

/// Instances of `agents` agents (one instance each) on node n1; images of even agents fail at create.
func instances(_ agents: Int) -> [DesiredInstance] {
    (0..<agents).map { n in
        DesiredInstance(key: "shop", spec: AgentSpec(id: AgentID("a\(n)"), workload: .image("localhost/a\(n):1")), index: 0, version: 1)
    }
}

// 1. The executor: every outcome belongs to its own action, at every concurrency.
for concurrency in [1, 3, 8] {
    for size in [1, 2, 9, 24] {
        let desired = instances(size)
        let runtime = FakeContainerRuntime(now: now)
        for n in stride(from: 0, to: size, by: 3) { await runtime.fail(.create, image: "localhost/a\(n):1", message: "image a\(n) not known") }
        let plan = NodeReconciler.reconcile(.init(node: "n1", desired: desired, observed: [], now: now))
        let (outcomes, executed) = await PlanExecutor(runtime: runtime, concurrency: concurrency).execute(plan)
        let containers = (try? await runtime.listManaged()) ?? []
        var problems: [String] = []
        if outcomes.map(\.action) != plan.actions { problems.append("outcomes are not in the plan's order") }
        for outcome in outcomes {
            guard case .start(let start) = outcome.action else { continue }
            let agent = start.instance.spec.id.rawValue
            let shouldFail = Int(agent.dropFirst())! % 3 == 0
            if shouldFail {
                if outcome.error?.message != "image \(agent) not known" { problems.append("\(agent): error \(String(describing: outcome.error))") }
                if outcome.created != nil { problems.append("\(agent): a failed create reported a container") }
            } else if outcome.created == nil || containers.first(where: { $0.id == outcome.created })?.name != start.name {
                problems.append("\(agent): created \(String(describing: outcome.created)) is not its container")
            }
        }
        let failed = executed.instances.filter { if case .failed = $0.phase { true } else { false } }.map(\.id.agent.rawValue)
        let expected = desired.map(\.spec.id.rawValue).filter { Int($0.dropFirst())! % 3 == 0 }
        if failed.sorted() != expected.sorted() { problems.append("failed instances \(failed), expected \(expected)") }
        check("plan executor, \(size) actions at concurrency \(concurrency): each outcome is its own action's", problems.isEmpty,
              problems.joined(separator: "; "))
    }
}

// 2. The health monitor: each container gets its own checks' results.
struct ParityProber: HealthProber {
    func probe(_ check: HealthCheck, container: ContainerID, at time: Timestamp) async -> CheckResult {
        await Task.yield()
        return CheckResult(check: check.name, passed: container.rawValue.hasSuffix("even"), at: time)
    }
}
let monitor = HealthMonitor(prober: ParityProber())
var running: [ContainerID: [HealthCheck]] = [:]
for n in 0..<40 { running[ContainerID("c\(n)-\(n % 2 == 0 ? "even" : "odd")")] = [HealthCheck(name: "up", probe: .tcp(port: 80))] }
let (health, _) = await monitor.update(running: running, now: now)
check("health monitor: 40 containers probed side by side each get their own result",
      health.count == 40 && health.allSatisfy { $0.value == ($0.key.rawValue.hasSuffix("even") ? .healthy : .unhealthy) })

// 3. The pure planners give the same plans as in the recorded (debug) run.
let digest = PlanningCorpus.digest()
check("planning corpus: every plan is byte-identical to the recorded ones", digest == PlanningCorpus.recordedDigest,
      "digest \(digest), recorded \(PlanningCorpus.recordedDigest)")

// 4. Manifest reading under 100,000 generated bad documents (issue 14): no crash, every
// rejection says what is wrong (a well-formed one names a field), every acceptance reads back.
let fuzzStarted = ContinuousClock.now
let fuzz = ManifestFuzzer.run(trees: 70_000, bytes: 30_000, seed: 0x6D6E_1414)
check("manifest fuzzing: \(fuzz.documents) mutated documents read (\(fuzz.accepted) accepted) in \(ContinuousClock.now - fuzzStarted), none broke a rule",
      fuzz.failure == nil && fuzz.documents == 100_000, fuzz.failure ?? "\(fuzz.documents) documents")

print(failures == 0 ? "release checks passed" : "\(failures) release check(s) failed")
if failures > 0 { exit(1) }
