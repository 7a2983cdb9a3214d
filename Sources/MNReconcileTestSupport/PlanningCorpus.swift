import MNCore
import MNReconcile

/// A fixed corpus of inputs to the pure planners and the digest of every plan they give.
///
/// The inputs come from a seeded generator, so the corpus is the same on every machine and in
/// every build configuration. Two uses:
/// - the test suite checks the digest against a recorded one: an optimisation of the planners
///   must not change a single byte of any plan;
/// - `mn-release-checks` computes it in the release build: an optimiser bug in the pure layer
///   shows up as a different digest.
public enum PlanningCorpus {
    /// The digest the planners gave when it was last recorded (see ``digest()``). A change of
    /// behaviour that is meant changes it: record the new one, and say why in the commit.
    public static let recordedDigest = "29d1a3d5d35898cddc71a22d4dc9f5f31d7365a8cfad72e0a39f723ac4728c92"

    /// The SHA-256 of every plan of the corpus, rendered canonically, in order.
    public static func digest() -> String {
        var out: [UInt8] = []
        for (name, run) in [("node", nodeRuns), ("rollout", rolloutRuns)] {
            out += Array("## \(name)\n".utf8)
            run(&out)
        }
        return SpecHash(of: out).rawValue
    }

    // MARK: Node reconciler

    /// Random nodes (two keys, two agents, three spec variants each), each reconciled for a
    /// few passes with the records the previous pass returned.
    static func nodeRuns(into out: inout [UInt8]) {
        var rng = SplitMix64(seed: 0x6D6E_6E6F_6465)
        let node = NodeID("n1")
        for _ in 0..<300 {
            var now = Timestamp(milliseconds: 10_000_000)
            var desired: [DesiredInstance] = []
            var observed: [ObservedContainer] = []
            var records: [InstanceRecord] = []
            var nextID = 0
            for key in ["alpha", "beta"].prefix(rng.int(1...2)) {
                for agent in ["api", "worker"].prefix(rng.int(1...2)) {
                    let variants = (1...3).map { n in
                        AgentSpec(
                            id: AgentID(agent), workload: .image("localhost/\(agent):\(n)"), env: ["N": String(n)],
                            lifecycle: Lifecycle(stopSignal: rng.pick(["SIGTERM", "SIGINT"]), gracePeriodMs: rng.pick([0, 2_000, 30_000])))
                    }
                    let delay = rng.pick([0, 500, 1_000, 5_000])
                    let policy = RestartPolicy(
                        attempts: rng.int(0...3), intervalMs: rng.pick([2_000, 10_000, 600_000]), delayMs: delay,
                        delayFunction: rng.pick(DelayFunction.allCases), maxDelayMs: delay + rng.pick([0, 2_000, 20_000]),
                        mode: rng.pick(RestartPolicy.Mode.allCases))
                    let jobType: Manifest.JobType = rng.chance(80) ? .service : rng.pick(Manifest.JobType.allCases)
                    let count = rng.chance(80) ? rng.int(1...3) : 0
                    let chosen = rng.pick(variants)
                    for index in 0..<4 {
                        if index < count {
                            let instance = DesiredInstance(
                                key: DeploymentKey(key), spec: chosen, index: index, version: 2, restart: policy, jobType: jobType)
                            desired.append(instance)
                            if rng.chance(30) {  // a rollout's second slot: the same instance, another spec
                                desired.append(
                                    DesiredInstance(
                                        key: DeploymentKey(key), spec: rng.pick(variants), index: index, version: 1, restart: policy,
                                        jobType: jobType))
                            }
                            if rng.chance(50) {
                                var record = InstanceRecord(
                                    id: instance.id, specHash: rng.chance(80) ? instance.specHash : rng.pick(variants).specHash)
                                record.started = rng.chance(70)
                                record.restarts = (0..<rng.int(0...4)).map { _ in now.adding(ms: -Int64(rng.int(0...(policy.intervalMs + 2_000)))) }
                                record.downSince = rng.chance(50) ? now.adding(ms: -Int64(rng.int(0...60_000))) : nil
                                record.lastError = rng.chance(20) ? "create: image not known" : nil
                                record.exhausted = rng.chance(10)
                                records.append(record)
                            }
                        }
                        for _ in 0..<rng.pick([0, 0, 1, 1, 2]) {
                            nextID += 1
                            let spec = rng.pick(variants)
                            let owner = DesiredInstance(
                                key: DeploymentKey(key), spec: spec, index: index, version: 1, restart: policy, jobType: jobType)
                            var labels = StartContainer(instance: owner, node: rng.chance(90) ? node : "n2").labels
                            if rng.chance(5) { labels[ContainerLabel.instance] = nil }
                            let state = rng.pick(ObservedContainer.State.allCases)
                            observed.append(
                                ObservedContainer(
                                    id: ContainerID(String(rng.int(0...0xFFF) * 4096 + nextID, radix: 16)), name: "mn-\(key)-\(agent)-\(index)",
                                    labels: labels, state: state, exitCode: state == .exited ? rng.pick([0, 1, 137]) : nil,
                                    startedAt: rng.chance(80) ? now.adding(ms: -Int64(rng.int(0...100_000))) : nil,
                                    finishedAt: state == .exited ? now.adding(ms: -Int64(rng.int(0...50_000))) : nil,
                                    health: rng.pick(ObservedContainer.Health.allCases)))
                        }
                    }
                }
            }
            if rng.chance(10) {  // a foreign container
                observed.append(ObservedContainer(id: "f00d", name: "postgres", labels: [:], state: .running))
            }
            let frozen: Set<DeploymentKey> = rng.chance(10) ? ["beta"] : []
            for _ in 0..<3 {
                let plan = NodeReconciler.reconcile(
                    .init(node: node, desired: desired, observed: observed, records: records, frozen: frozen, now: now))
                render(plan, into: &out)
                records = plan.records
                now = now.adding(ms: Int64(rng.pick([0, 400, 2_000, 30_000])))
            }
        }
    }

    static func render(_ plan: NodePlan, into out: inout [UInt8]) {
        out += CanonicalJSON.bytes(of: plan.actions)
        out += CanonicalJSON.bytes(of: plan.instances)
        out += CanonicalJSON.bytes(of: plan.records)
        out += Array("requeue \(plan.requeueAt.map { String($0.milliseconds) } ?? "-")\n".utf8)
    }

    // MARK: Rollout planner

    /// Random updates (every strategy, topology changes, shared host ports, reverts), each
    /// decided step by step against simulated reports until it ends or 40 steps pass.
    static func rolloutRuns(into out: inout [UInt8]) {
        var rng = SplitMix64(seed: 0x726F_6C6C_6F75)
        for _ in 0..<200 {
            let agents = rng.int(1...3)
            let sharedPort = rng.chance(30)
            // Names where `agent/` order differs from agent order ("a-b/" sorts before "a/"),
            // and counts past 10, where unit names sort as strings (0, 1, 10, 11, 2, …).
            let offset = rng.int(0...3)
            let names = (0..<4).map { AgentID(["a", "a-b", "a_b", "b"][($0 + offset) % 4]) }
            func manifest(_ version: Int, agents: Int) -> Manifest {
                let specs = (0..<agents).map { a in
                    AgentSpec(
                        id: names[a], count: rng.pick([1, 2, 3, 5, 12, 23]), workload: .image("localhost/a\(a):\(rng.chance(60) ? version : 1)"),
                        ports: sharedPort && a == 0 ? [PortMapping(name: "http", containerPort: 80, hostPort: 18_000)] : [],
                        healthChecks: rng.chance(50) ? [HealthCheck(name: "up", probe: .tcp(port: 80))] : [])
                }
                var update = UpdatePolicy.defaults
                update.strategy = rng.pick(UpdatePolicy.Strategy.allCases)
                update.maxParallel = rng.int(1...3)
                update.canary = rng.int(0...2)
                update.minHealthyMs = rng.pick([0, 1_000, 10_000])
                update.healthyDeadlineMs = rng.pick([5_000, 60_000])
                update.progressDeadlineMs = rng.pick([20_000, 120_000])
                update.healthCheck = rng.pick(UpdatePolicy.HealthSignal.allCases)
                update.autoPromote = rng.chance(50)
                return Manifest(
                    key: "shop", agents: specs, edges: agents > 1 && rng.chance(30) ? [TopologyEdge(from: names[0], to: names[1])] : [],
                    policies: Policies(update: update, restart: .defaults, reschedule: .defaults))
            }
            let from = rng.chance(90) ? VersionedManifest(version: 1, manifest: manifest(1, agents: agents)) : nil
            let to = VersionedManifest(version: 2, manifest: manifest(2, agents: rng.chance(15) ? agents + 1 : agents))
            let isRevert = rng.chance(10)
            var now = Timestamp(milliseconds: 50_000_000)
            var state = RolloutState(target: 2, now: now)
            var reports: [InstanceStatus] = []
            for step in 0..<40 {
                if state.awaitingPromotion && rng.chance(40) { state.promotedAt = now }
                let plan = RolloutPlanner.plan(.init(from: from, to: to, state: state, instances: reports, now: now, isRevert: isRevert))
                render(plan, step: step, into: &out)
                state = plan.state
                if case .progressing = plan.outcome {} else { break }
                // The node runs what the plan wants; each instance is healthy, unhealthy or still starting.
                reports = plan.desired.compactMap { instance in
                    if rng.chance(10) { return nil }
                    let phase: InstancePhase = rng.chance(85) ? .running : rng.pick([.pending, .failed(reason: "exited 1", retryAt: nil)])
                    // Two nils (the second was written `.none`, which Swift reads as nil): the recorded digest was drawn so.
                    let health: ObservedContainer.Health? = rng.pick([nil, nil, .healthy, .healthy, .healthy, .starting, .unhealthy])
                    return InstanceStatus(
                        id: instance.id, version: instance.version, specHash: instance.specHash, phase: phase, health: health)
                }
                now = now.adding(ms: Int64(rng.pick([500, 1_000, 5_000, 15_000])))
            }
        }
    }

    static func render(_ plan: RolloutPlanner.Plan, step: Int, into out: inout [UInt8]) {
        out += Array("step \(step)\n".utf8)
        for instance in plan.desired {
            out += Array("\(instance.id) v\(instance.version) \(instance.role.rawValue) \(instance.specHash.rawValue)\n".utf8)
        }
        out += CanonicalJSON.bytes(of: plan.state)
        out += Array("\n\(plan.outcome) requeue \(plan.requeueAt.map { String($0.milliseconds) } ?? "-")\n".utf8)
    }
}

/// A small seeded generator (SplitMix64): the same numbers on every platform and build
/// (the planning corpus, the manifest fuzzer).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `range`, by modulo (exact enough for a corpus, and stable: no stdlib sampling).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}
