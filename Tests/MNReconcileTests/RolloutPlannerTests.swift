import MNCore
@testable import MNReconcile
import PropertyBased
import Testing

/// A manifest with one agent of `count` instances and a rolling policy.
func rollingManifest(image: String, count: Int, maxParallel: Int, minHealthyMs: Int, healthyDeadlineMs: Int, progressDeadlineMs: Int)
    -> Manifest
{
    var update = UpdatePolicy.defaults
    update.maxParallel = maxParallel
    update.minHealthyMs = minHealthyMs
    update.healthyDeadlineMs = healthyDeadlineMs
    update.progressDeadlineMs = progressDeadlineMs
    return Manifest(
        key: "shop",
        agents: [
            AgentSpec(id: "web", count: count, workload: .image(image)),
            AgentSpec(id: "steady", workload: .image("localhost/steady:1")),
        ],
        policies: Policies(update: update, restart: .defaults, reschedule: .defaults))
}

/// A node that starts what is desired: each new instance is running at once and becomes
/// healthy after its fated delay (or never); instances no longer desired are gone.
struct SimulatedNode {
    var placedAt: [String: Timestamp] = [:]
    let fate: (InstanceID) -> Int64?

    mutating func run(_ desired: [DesiredInstance], now: Timestamp) -> [InstanceStatus] {
        let keys = Set(desired.map { "\($0.id)#\($0.specHash)" })
        placedAt = placedAt.filter { keys.contains($0.key) }
        return desired.map { instance in
            let key = "\(instance.id)#\(instance.specHash)"
            let placed = placedAt[key] ?? now
            placedAt[key] = placed
            let healthyAfter = instance.version == 1 ? 0 : fate(instance.id)
            let healthy = healthyAfter.map { now.milliseconds(since: placed) >= $0 } ?? false
            return InstanceStatus(
                id: instance.id, version: instance.version, specHash: instance.specHash, phase: .running,
                health: healthy ? .healthy : .unhealthy)
        }
    }

    /// The next moment an instance's health changes.
    func nextChange(after now: Timestamp, desired: [DesiredInstance]) -> Timestamp? {
        desired.compactMap { instance -> Timestamp? in
            guard instance.version != 1, let delay = fate(instance.id), let placed = placedAt["\(instance.id)#\(instance.specHash)"] else {
                return nil
            }
            let at = placed.adding(ms: delay)
            return at > now ? at : nil
        }.min()
    }
}

struct RolloutRun {
    var outcome: RolloutOutcome?
    var maxInFlight = 0
    var everyUnitServed = true
    /// The most units at once with no healthy instance running.
    var maxUnavailable = 0
    /// The longest a decision saw the rollout without progress (waits for a person excepted).
    var maxSilenceMs: Int64 = 0
    /// At the promotion: the units done, and those reported healthy on the new version.
    var promotion: (done: Set<String>, healthy: Set<String>)?
    /// When the rollout was promoted, if it was.
    var promotedAt: Timestamp?
    var endedAt: Timestamp
    var finalDesired: [DesiredInstance] = []
}

/// Drives the planner against a simulated node, waking at the planner's requeue or when health
/// changes. An operator promotes `operatorDelayMs` after the rollout starts waiting for promotion
/// (never when `nil`).
func simulate(
    from: Manifest, to: Manifest, fate: @escaping (InstanceID) -> Int64?, start: Timestamp, operatorDelayMs: Int64? = nil
) -> RolloutRun {
    var node = SimulatedNode(fate: fate)
    let old = VersionedManifest(version: 1, manifest: from)
    let new = VersionedManifest(version: 2, manifest: to)
    var state = RolloutState(target: 2, now: start)
    var now = start
    var statuses = node.run(from.desiredInstances(version: 1), now: start)
    var run = RolloutRun(endedAt: start)
    var awaitingSince: Timestamp?
    /// What was true at the promotion: the units done, and those reported healthy on the new version.
    func snapshot(done: Set<String>) {
        let healthy = statuses.filter { $0.version == 2 && $0.health == .healthy }.map { "\($0.id.agent)/\($0.id.index)" }
        run.promotion = (done, Set(healthy))
    }
    for _ in 0..<10_000 {
        if state.awaitingPromotion, state.promotedAt == nil, let delay = operatorDelayMs, let since = awaitingSince,
            now >= since.adding(ms: delay)
        {
            // What `mnctl deployment promote` does to the record (it refuses unless awaitingPromotion).
            snapshot(done: state.done)
            state.promotedAt = now
            state.lastProgressAt = now
            run.promotedAt = now
        }
        let plan = RolloutPlanner.plan(.init(from: old, to: new, state: state, instances: statuses, now: now))
        if state.promotedAt == nil, plan.state.promotedAt != nil {
            snapshot(done: plan.state.done)
            run.promotedAt = now
        }
        if !plan.state.awaitingPromotion { run.maxSilenceMs = max(run.maxSilenceMs, now.milliseconds(since: plan.state.lastProgressAt)) }
        if plan.state.awaitingPromotion && awaitingSince == nil { awaitingSince = now }
        state = plan.state
        let inFlight = state.placedAt.keys.filter { !state.done.contains($0) }.count
        run.maxInFlight = max(run.maxInFlight, inFlight)
        for agent in to.agents {
            for index in 0..<agent.count where !plan.desired.contains(where: { $0.id.agent == agent.id && $0.id.index == index }) {
                run.everyUnitServed = false
            }
        }
        statuses = node.run(plan.desired, now: now)
        var unavailable = 0
        for agent in to.agents {
            for index in 0..<agent.count
            where !statuses.contains(where: { $0.id.agent == agent.id && $0.id.index == index && $0.health == .healthy }) {
                unavailable += 1
            }
        }
        run.maxUnavailable = max(run.maxUnavailable, unavailable)
        run.finalDesired = plan.desired
        if case .progressing = plan.outcome {
            var wakes = [plan.requeueAt, node.nextChange(after: now, desired: plan.desired)]
            if let delay = operatorDelayMs, let since = awaitingSince, state.promotedAt == nil { wakes.append(since.adding(ms: delay)) }
            guard let next = wakes.compactMap({ $0 }).min(), next > now else {
                // Reported health changed at `now` itself, or the operator acts now: decide again at the same time.
                continue
            }
            now = next
        } else {
            run.outcome = plan.outcome
            run.endedAt = now
            return run
        }
    }
    return run
}

@Suite("Rolling rollout planner")
struct RolloutPlannerTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    @Test("batches of max_parallel, new beside old, old dropped after min_healthy, unchanged agents untouched")
    func rollingBatches() {
        let from = rollingManifest(
            image: "web:1", count: 3, maxParallel: 2, minHealthyMs: 1_000, healthyDeadlineMs: 5_000, progressDeadlineMs: 20_000)
        let to = rollingManifest(
            image: "web:2", count: 3, maxParallel: 2, minHealthyMs: 1_000, healthyDeadlineMs: 5_000, progressDeadlineMs: 20_000)
        let first = RolloutPlanner.plan(
            .init(
                from: .init(version: 1, manifest: from), to: .init(version: 2, manifest: to), state: RolloutState(target: 2, now: t0),
                instances: [], now: t0))
        let web = first.desired.filter { $0.id.agent == "web" }
        #expect(web.filter { $0.version == 1 }.count == 3, "every old instance keeps running")
        #expect(web.filter { $0.version == 2 }.map(\.id.index) == [0, 1], "the first batch is max_parallel wide")
        #expect(
            first.desired.filter { $0.id.agent == "steady" }.map(\.version) == [2], "an unchanged agent moves on without a change of spec")
        #expect(first.requeueAt == t0.adding(ms: 5_000), "the healthy deadline is the next thing to check")
    }

    @Test("units that publish a host port are replaced in place, one batch at a time")
    func hostPortsReplaceInPlace() {
        var from = rollingManifest(
            image: "web:1", count: 2, maxParallel: 1, minHealthyMs: 0, healthyDeadlineMs: 5_000, progressDeadlineMs: 9_000)
        from.agents[0].ports = [PortMapping(name: "http", containerPort: 80, hostPort: 18080)]
        from.agents[0].count = 1
        var to = from
        to.agents[0].workload = .image("web:2")
        let plan = RolloutPlanner.plan(
            .init(
                from: .init(version: 1, manifest: from), to: .init(version: 2, manifest: to), state: RolloutState(target: 2, now: t0),
                instances: [], now: t0))
        #expect(plan.desired.filter { $0.id.agent == "web" }.map(\.version) == [2], "the old makes way for the new on the same port")
    }

    @Test("canary: canaries beside the old, then a wait for promotion with no deadline, then batches; auto_promote goes on alone")
    func canary() {
        var from = rollingManifest(
            image: "web:1", count: 3, maxParallel: 1, minHealthyMs: 0, healthyDeadlineMs: 5_000, progressDeadlineMs: 9_000)
        from.policies.update.strategy = .canary
        from.policies.update.canary = 1
        var to = from
        to.agents[0].workload = .image("web:2")
        let versions = (VersionedManifest(version: 1, manifest: from), VersionedManifest(version: 2, manifest: to))
        func healthy(_ desired: [DesiredInstance]) -> [InstanceStatus] {
            desired.map { InstanceStatus(id: $0.id, version: $0.version, specHash: $0.specHash, phase: .running, health: .healthy) }
        }
        var state = RolloutState(target: 2, now: t0)
        var plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: state, instances: [], now: t0))
        let canaries = plan.desired.filter { $0.id.agent == "web" && $0.version == 2 }
        #expect(canaries.map(\.id.index) == [0] && canaries.allSatisfy { $0.role == .canary })
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 1 }.count == 3, "every old instance stays")

        // Long after the progress deadline, healthy canaries still just wait for a person.
        let muchLater = t0.adding(ms: 600_000)
        plan = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: plan.state, instances: healthy(plan.desired), now: muchLater))
        guard case .progressing(let waitingFor, nil) = plan.outcome else {
            Issue.record("expected to wait for promotion, got \(plan.outcome)")
            return
        }
        #expect(waitingFor.contains("promotion"))
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 1 }.count == 3, "still no old instance retired")

        state = plan.state
        state.promotedAt = muchLater
        state.lastProgressAt = muchLater
        var now = muchLater
        var statuses = healthy(plan.desired)
        for _ in 0..<10 {
            plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: state, instances: statuses, now: now))
            state = plan.state
            statuses = healthy(plan.desired)
            if plan.outcome == .succeeded { break }
            now = now.adding(ms: 10)
        }
        #expect(plan.outcome == .succeeded)
        #expect(plan.desired.filter { $0.id.agent == "web" }.allSatisfy { $0.version == 2 && $0.role == .primary })

        var automatic = to
        automatic.policies.update.autoPromote = true
        var auto = RolloutPlanner.plan(
            .init(
                from: versions.0, to: .init(version: 2, manifest: automatic), state: RolloutState(target: 2, now: t0), instances: [],
                now: t0))
        auto = RolloutPlanner.plan(
            .init(
                from: versions.0, to: .init(version: 2, manifest: automatic), state: auto.state, instances: healthy(auto.desired), now: t0))
        #expect(auto.state.promotedAt == t0, "auto_promote promotes healthy canaries by itself")
    }

    @Test("a new instance that never becomes healthy fails the rollout at the healthy deadline, not later")
    func healthyDeadlineFires() {
        let from = rollingManifest(
            image: "web:1", count: 2, maxParallel: 1, minHealthyMs: 500, healthyDeadlineMs: 3_000, progressDeadlineMs: 10_000)
        let to = rollingManifest(
            image: "web:2", count: 2, maxParallel: 1, minHealthyMs: 500, healthyDeadlineMs: 3_000, progressDeadlineMs: 10_000)
        let run = simulate(from: from, to: to, fate: { _ in nil }, start: t0)
        guard case .failed(let reason) = run.outcome else {
            Issue.record("expected a failure, got \(String(describing: run.outcome))")
            return
        }
        #expect(reason.contains("healthy_deadline_ms"))
        #expect(run.endedAt == t0.adding(ms: 3_000))
    }

    @Test("a new instance whose restart policy ran out fails the rollout at once, saying why; one that will be retried does not")
    func failedForGoodFailsAtOnce() {
        let from = rollingManifest(
            image: "web:1", count: 2, maxParallel: 1, minHealthyMs: 500, healthyDeadlineMs: 60_000, progressDeadlineMs: 120_000)
        let to = rollingManifest(
            image: "web:2", count: 2, maxParallel: 1, minHealthyMs: 500, healthyDeadlineMs: 60_000, progressDeadlineMs: 120_000)
        let old = VersionedManifest(version: 1, manifest: from)
        let new = VersionedManifest(version: 2, manifest: to)
        let first = RolloutPlanner.plan(.init(from: old, to: new, state: RolloutState(target: 2, now: t0), instances: [], now: t0))
        let placed = first.desired.filter { $0.version == 2 && "\($0.id.agent)" == "web" }
        #expect(placed.count == 1)
        func statuses(_ phase: InstancePhase) -> [InstanceStatus] {
            first.desired.map { instance in
                InstanceStatus(
                    id: instance.id, version: instance.version, specHash: instance.specHash,
                    phase: placed.contains(instance) ? phase : .running, health: placed.contains(instance) ? nil : .healthy)
            }
        }
        let later = t0.adding(ms: 5_000)
        let retrying = RolloutPlanner.plan(
            .init(from: old, to: new, state: first.state, instances: statuses(.failed(reason: "no such image", retryAt: later.adding(ms: 1_000))), now: later))
        guard case .progressing = retrying.outcome else {
            Issue.record("an instance that will be retried failed the rollout: \(retrying.outcome)")
            return
        }
        let reason = "exited with code 127; restarted 2 times within 60000 ms (attempts 2, mode fail)"
        let failed = RolloutPlanner.plan(.init(from: old, to: new, state: first.state, instances: statuses(.failed(reason: reason, retryAt: nil)), now: later))
        #expect(failed.outcome == .failed(reason: "\(placed[0].id.agent)/\(placed[0].id.index) failed: \(reason)"))
    }

    @Test("properties: max_parallel in flight, every unit always served, a terminal outcome within the deadlines")
    func properties() async {
        let gen = zip(
            Gen.int(in: 1...6), Gen.int(in: 1...3), Gen.int(in: 0...2_000), Gen.int(in: 2_500...6_000), Gen.int(in: 0...6_000).array(of: 6),
            Gen.bool(0.15).array(of: 6))
        await propertyCheck(count: 200, input: gen) { count, maxParallel, minHealthy, healthyDeadline, delays, never in
            let progressDeadline = healthyDeadline + 4_000
            let from = rollingManifest(
                image: "web:1", count: count, maxParallel: maxParallel, minHealthyMs: minHealthy, healthyDeadlineMs: healthyDeadline,
                progressDeadlineMs: progressDeadline)
            let to = rollingManifest(
                image: "web:2", count: count, maxParallel: maxParallel, minHealthyMs: minHealthy, healthyDeadlineMs: healthyDeadline,
                progressDeadlineMs: progressDeadline)
            let fate: (InstanceID) -> Int64? = { id in never[id.index] ? nil : Int64(delays[id.index]) }
            let run = simulate(from: from, to: to, fate: fate, start: t0)
            #expect(run.maxInFlight <= maxParallel)
            #expect(run.everyUnitServed, "a unit had neither its old nor its new instance")
            #expect(run.maxUnavailable <= maxParallel, "more than max_parallel units without a healthy instance")
            let fated = (0..<count).map { never[$0] ? nil : delays[$0] }
            let batches = (count + maxParallel - 1) / maxParallel
            #expect(
                run.endedAt <= t0.adding(ms: Int64(batches * progressDeadline)), "not terminal in time: \(String(describing: run.outcome))")
            switch run.outcome {
            case .succeeded?:
                #expect(
                    fated.allSatisfy { $0 != nil && $0! < healthyDeadline }, "succeeded although an instance could not be healthy in time")
            case .failed?:
                #expect(fated.contains { $0 == nil || $0! >= healthyDeadline }, "failed although every instance became healthy in time")
            default:
                Issue.record("no terminal outcome: \(String(describing: run.outcome))")
            }
        }
    }
}

@Suite("Rollout unit order")
struct RolloutUnitOrderTests {
    @Test("units of an agent go in the order of their names, as strings sort them", arguments: [0, 1, 2, 9, 10, 11, 99, 100, 101, 1_000, 1_234])
    func lexicographicIndices(count: Int) {
        #expect(RolloutPlanner.lexicographicIndices(count) == (0..<count).sorted { String($0) < String($1) })
    }
}
