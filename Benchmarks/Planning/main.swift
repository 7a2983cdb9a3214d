// The cost of one planning decision at fleet sizes: RolloutPlanner.plan and
// NodeReconciler.reconcile for one agent of count N, N = 100, 1k, 10k, 100k.
//
// - plan: a rolling update v1 → v2 (the image changed) with every v1 instance reported
//   running and healthy, from a fresh rollout state (the first decision places batch one);
// - plan, mid-rollout: the same update with half the units done and a batch in flight;
// - reconcile: steady state, N desired instances, N matching running containers and the
//   records the previous pass returned (the agent's every pass when nothing changed).
//
// Prints the median wall time of one call, the allocations of one call (when run with
// LD_PRELOAD of libMallocInterposerSwift.so, as ./planning.sh does), and the growth of the
// time per 10× N (10 means linear). Build in release; see Benchmarks/planning.sh.
import Foundation
import MNCore
import MNReconcile
import MallocInterposerSwift

let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }.nonEmpty ?? [100, 1_000, 10_000, 100_000]
let now = Timestamp(milliseconds: 1_800_000_000_000)

func manifest(image: String, count: Int) -> Manifest {
    var policies = Policies.defaults
    policies.update.maxParallel = 2
    return Manifest(
        key: "fleet",
        agents: [
            AgentSpec(
                id: "worker", count: count, workload: .image(image), args: ["httpd", "-f", "-p", "8080"], env: ["MODE": "bench"],
                ports: [PortMapping(name: "http", containerPort: 8080)],
                healthChecks: [HealthCheck(name: "up", probe: .http(port: 8080, path: "/"))])
        ],
        policies: policies)
}

struct Case {
    var name: String
    var run: () -> Int  // returns something derived from the result, so nothing is optimised away
}

func planCases(_ n: Int) -> [Case] {
    let from = VersionedManifest(version: 1, manifest: manifest(image: "localhost/worker:1", count: n))
    let to = VersionedManifest(version: 2, manifest: manifest(image: "localhost/worker:2", count: n))
    let old = from.manifest.desiredInstances(version: 1)
    let healthyOld = old.map {
        InstanceStatus(id: $0.id, version: 1, specHash: $0.specHash, phase: .running, container: ContainerID("c\($0.id.index)"), health: .healthy)
    }
    let fresh = RolloutPlanner.Input(from: from, to: to, state: RolloutState(target: 2, now: now), instances: healthyOld, now: now)

    // Half the units done (their new instance healthy, the old gone), two in flight.
    let new = to.manifest.desiredInstances(version: 2)
    var state = RolloutState(target: 2, now: now.adding(ms: -60_000))
    var reports: [InstanceStatus] = []
    for (index, instance) in new.enumerated() {
        let unit = RolloutUnit(agent: instance.id.agent, index: instance.id.index)
        if index < n / 2 + 2 {
            state[unit].placedAt = now.adding(ms: -30_000)
            reports.append(
                InstanceStatus(id: instance.id, version: 2, specHash: instance.specHash, phase: .running, container: ContainerID("n\(index)"), health: .healthy))
            if index < n / 2 {
                state[unit].healthySince = now.adding(ms: -20_000)
                state[unit].done = true
            }
        }
        if index >= n / 2 { reports.append(healthyOld[index]) }
    }
    let middle = RolloutPlanner.Input(from: from, to: to, state: state, instances: reports, now: now)
    return [
        Case(name: "RolloutPlanner.plan (first decision)") { RolloutPlanner.plan(fresh).desired.count },
        Case(name: "RolloutPlanner.plan (mid-rollout)") { RolloutPlanner.plan(middle).desired.count },
    ]
}

func reconcileCase(_ n: Int) -> Case {
    let node = NodeID("n1")
    let desired = manifest(image: "localhost/worker:1", count: n).desiredInstances(version: 1)
    let observed = desired.map { instance in
        let start = StartContainer(instance: instance, node: node)
        return ObservedContainer(
            id: ContainerID(String(format: "%064x", instance.id.index)), name: start.name, labels: start.labels, state: .running,
            startedAt: now.adding(ms: -60_000), health: .healthy)
    }
    let records = NodeReconciler.reconcile(.init(node: node, desired: desired, observed: observed, now: now)).records
    let input = NodeReconciler.Input(node: node, desired: desired, observed: observed, records: records, now: now)
    return Case(name: "NodeReconciler.reconcile (steady)") { NodeReconciler.reconcile(input).instances.count }
}

/// Wall time of `body` in nanoseconds (median, fastest, 90th percentile), over enough runs to
/// fill about a second (at least 5).
func nanoseconds(_ body: () -> Int) -> (median: Double, min: Double, p90: Double, runs: Int) {
    var sink = body()  // warm-up
    let clock = ContinuousClock()
    var samples: [Double] = []
    let budget = Duration.seconds(1)
    let started = clock.now
    while samples.count < 5 || (clock.now - started < budget && samples.count < 1_000) {
        let t0 = clock.now
        sink &+= body()
        let elapsed = clock.now - t0
        samples.append(Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9)
    }
    if sink == Int.min { print("") }
    samples.sort()
    return (samples[samples.count / 2], samples[0], samples[samples.count * 9 / 10], samples.count)
}

/// Allocations of one call of `body` (0 when the interposer is not preloaded).
func allocations(_ body: () -> Int) -> Int64 {
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    let result = body()
    MallocInterposerSwift.unhook()
    if result == Int.min { print("") }
    return Int64(MallocInterposerSwift.getStatistics().mallocCount)
}

func format(_ ns: Double) -> String {
    switch ns {
    case ..<1_000_000: String(format: "%.1f µs", ns / 1_000)
    case ..<1_000_000_000: String(format: "%.2f ms", ns / 1_000_000)
    default: String(format: "%.2f s", ns / 1_000_000_000)
    }
}

print("| function | N | median | fastest | p90 | runs | allocations | per instance | growth ×10 N (median) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
var previous: [String: (n: Int, ns: Double)] = [:]
for n in sizes {
    // MN_BENCH_ONLY=reconcile (a part of a case's name) runs only matching cases, for a profiler.
    let only = ProcessInfo.processInfo.environment["MN_BENCH_ONLY"]
    for benchmark in planCases(n) + [reconcileCase(n)] where only.map(benchmark.name.contains) ?? true {
        let (ns, fastest, p90, runs) = nanoseconds(benchmark.run)
        let mallocs = allocations(benchmark.run)
        var growth = ""
        if let last = previous[benchmark.name], n == last.n * 10 { growth = String(format: "%.1f", ns / last.ns) }
        previous[benchmark.name] = (n, ns)
        print(
            "| \(benchmark.name) | \(n) | \(format(ns)) | \(format(fastest)) | \(format(p90)) | \(runs) | \(mallocs) | \(String(format: "%.1f", Double(mallocs) / Double(n))) | \(growth) |")
    }
}

extension Collection {
    var nonEmpty: Self? { isEmpty ? nil : self }
}
