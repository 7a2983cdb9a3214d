import MNCore
import MNReconcile
import PropertyBased
import Testing

/// `rollingManifest` with another strategy.
func strategyManifest(
    _ strategy: UpdatePolicy.Strategy, image: String, count: Int, canary: Int = 0, autoPromote: Bool = false, minHealthyMs: Int = 0,
    healthyDeadlineMs: Int = 5_000, progressDeadlineMs: Int = 9_000
) -> Manifest {
    var manifest = rollingManifest(
        image: image, count: count, maxParallel: 1, minHealthyMs: minHealthyMs, healthyDeadlineMs: healthyDeadlineMs,
        progressDeadlineMs: progressDeadlineMs)
    manifest.policies.update.strategy = strategy
    manifest.policies.update.canary = canary
    manifest.policies.update.autoPromote = autoPromote
    return manifest
}

@Suite("Blue-green, topology changes and canary properties")
struct RolloutStrategyTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    func healthy(_ desired: [DesiredInstance]) -> [InstanceStatus] {
        desired.map { InstanceStatus(id: $0.id, version: $0.version, specHash: $0.specHash, phase: .running, health: .healthy) }
    }

    @Test("blue-green: the whole changed target starts beside the old at once, waits for promotion with no deadline, then retires the old")
    func blueGreen() {
        let from = strategyManifest(.blueGreen, image: "web:1", count: 3)
        let to = strategyManifest(.blueGreen, image: "web:2", count: 3)
        let versions = (VersionedManifest(version: 1, manifest: from), VersionedManifest(version: 2, manifest: to))
        var plan = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: RolloutState(target: 2, now: t0), instances: [], now: t0))
        let green = plan.desired.filter { $0.id.agent == "web" && $0.version == 2 }
        #expect(plan.state.strategy == .blueGreen)
        #expect(green.map(\.id.index) == [0, 1, 2], "every changed unit at once, max_parallel notwithstanding")
        #expect(green.allSatisfy { $0.role == .candidate })
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 1 }.count == 3, "the old version keeps serving")
        #expect(plan.desired.filter { $0.id.agent == "steady" }.map(\.version) == [2], "an unchanged agent is shared, not duplicated")
        #expect(!plan.state.awaitingPromotion)

        let muchLater = t0.adding(ms: 600_000)
        plan = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: plan.state, instances: healthy(plan.desired), now: muchLater))
        guard case .progressing(let waitingFor, nil) = plan.outcome else {
            Issue.record("expected to wait for promotion without a deadline, got \(plan.outcome)")
            return
        }
        #expect(waitingFor.contains("promotion of version 2"))
        #expect(plan.state.awaitingPromotion)
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 1 }.count == 3, "nothing retired before promotion")

        var state = plan.state
        state.promotedAt = muchLater
        plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: state, instances: healthy(plan.desired), now: muchLater))
        #expect(plan.outcome == .succeeded)
        #expect(plan.desired.allSatisfy { $0.version == 2 && $0.role == .primary }, "promotion retires the whole old version")
    }

    @Test("a promotion asked before the canary is healthy is queued: it happens as soon as the canary is, not before")
    func queuedPromotion() {
        let from = strategyManifest(.canary, image: "web:1", count: 2, canary: 1)
        let to = strategyManifest(.canary, image: "web:2", count: 2, canary: 1)
        let versions = (VersionedManifest(version: 1, manifest: from), VersionedManifest(version: 2, manifest: to))
        var plan = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: RolloutState(target: 2, now: t0), instances: [], now: t0))
        var state = plan.state
        state.promotionRequestedAt = t0
        let starting = plan.desired.map {
            InstanceStatus(id: $0.id, version: $0.version, specHash: $0.specHash, phase: $0.version == 2 ? .pending : .running, health: .healthy)
        }
        plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: state, instances: starting, now: t0))
        #expect(plan.state.promotedAt == nil, "promoted before the canary was healthy")
        let later = t0.adding(ms: 1_000)
        plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: plan.state, instances: healthy(plan.desired), now: later))
        #expect(plan.state.promotedAt == later && !plan.state.awaitingPromotion)
    }

    @Test("a canary that turns unhealthy after it was done holds promotion back, and the progress deadline runs again")
    func unhealthyCanaryBlocksPromotion() {
        let from = strategyManifest(.canary, image: "web:1", count: 2, canary: 1, progressDeadlineMs: 9_000)
        let to = strategyManifest(.canary, image: "web:2", count: 2, canary: 1, progressDeadlineMs: 9_000)
        let versions = (VersionedManifest(version: 1, manifest: from), VersionedManifest(version: 2, manifest: to))
        var plan = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: RolloutState(target: 2, now: t0), instances: [], now: t0))
        plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: plan.state, instances: healthy(plan.desired), now: t0))
        #expect(plan.state.awaitingPromotion)
        let sick = plan.desired.map {
            InstanceStatus(
                id: $0.id, version: $0.version, specHash: $0.specHash, phase: .running, health: $0.version == 2 ? .unhealthy : .healthy)
        }
        let later = t0.adding(ms: 1_000)
        plan = RolloutPlanner.plan(.init(from: versions.0, to: versions.1, state: plan.state, instances: sick, now: later))
        #expect(!plan.state.awaitingPromotion, "promote must be refused while the canary is unhealthy")
        guard case .progressing(let waitingFor, let deadline) = plan.outcome else {
            Issue.record("expected progress, got \(plan.outcome)")
            return
        }
        #expect(waitingFor == "web/0 to be healthy again")
        #expect(deadline == t0.adding(ms: 9_000))
        let failed = RolloutPlanner.plan(
            .init(from: versions.0, to: versions.1, state: plan.state, instances: sick, now: t0.adding(ms: 9_000)))
        #expect(failed.outcome == .failed(reason: "no progress within progress_deadline_ms (9000 ms)"))
    }

    @Test("blue-green keeps units dropped from the target until promotion")
    func blueGreenKeepsRemovedUnits() {
        let from = strategyManifest(.blueGreen, image: "web:1", count: 3)
        let to = strategyManifest(.blueGreen, image: "web:2", count: 2)
        let plan = RolloutPlanner.plan(
            .init(
                from: .init(version: 1, manifest: from), to: .init(version: 2, manifest: to), state: RolloutState(target: 2, now: t0),
                instances: [], now: t0))
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 1 }.map(\.id.index) == [0, 1, 2])
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 2 }.map(\.id.index) == [0, 1])
    }

    @Test(
        "a topology change under strategy rolling is a whole-job blue-green: every agent, changed or not, gets a new instance beside the old"
    )
    func topologyChangeIsWholeJobBlueGreen() {
        let from = strategyManifest(.rolling, image: "web:1", count: 2)
        var to = from
        to.edges = [TopologyEdge(from: "web", to: "steady")]
        #expect(RolloutPlanner.strategy(from: from, to: to) == .blueGreen)
        #expect(RolloutPlanner.strategy(from: from, to: from) == .rolling, "the same topology keeps the policy's strategy")
        let plan = RolloutPlanner.plan(
            .init(
                from: .init(version: 1, manifest: from), to: .init(version: 2, manifest: to), state: RolloutState(target: 2, now: t0),
                instances: [], now: t0))
        #expect(plan.state.strategy == .blueGreen)
        for agent in ["web", "steady"] {
            let mine = plan.desired.filter { $0.id.agent == AgentID(agent) }
            #expect(Set(mine.map(\.version)) == [1, 2], "\(agent) runs old and new side by side")
            #expect(Set(mine.map(\.specHash)).count == 2, "\(agent)'s instance hash covers the topology")
        }

        // Same topology, one agent changed: only that agent's hash changes.
        var changed = from
        changed.agents[0].workload = .image("web:2")
        #expect(from.instanceHash(of: from.agents[1]) == changed.instanceHash(of: changed.agents[1]))
        #expect(from.instanceHash(of: from.agents[0]) != changed.instanceHash(of: changed.agents[0]))
    }

    @Test("blue-green that cannot run beside the old (a shared host port) fails with the reason and starts nothing")
    func blueGreenHostPortConflict() {
        var from = strategyManifest(.blueGreen, image: "web:1", count: 1)
        from.agents[0].ports = [PortMapping(name: "http", containerPort: 80, hostPort: 18080)]
        var to = from
        to.agents[0].workload = .image("web:2")
        let plan = RolloutPlanner.plan(
            .init(
                from: .init(version: 1, manifest: from), to: .init(version: 2, manifest: to), state: RolloutState(target: 2, now: t0),
                instances: [], now: t0))
        guard case .failed(let reason) = plan.outcome else {
            Issue.record("expected a failure, got \(plan.outcome)")
            return
        }
        #expect(reason.contains("host port 18080/tcp") && reason.contains("'web'"))
        #expect(plan.desired.allSatisfy { $0.version == 1 }, "nothing of the target starts")
    }

    @Test("properties: canary and blue-green never promote an unhealthy first wave, never go quiet past the progress deadline, and end")
    func promotionProperties() async {
        let gen = zip(
            Gen.int(in: 1...5), Gen.int(in: 1...3), Gen.bool(), Gen.int(in: 0...1_500), Gen.int(in: 0...6_000).array(of: 6),
            Gen.bool(0.15).array(of: 6), Gen.int(in: 0...3_000), Gen.int(in: 0...2))
        await propertyCheck(count: 200, input: gen) { count, canary, autoPromote, minHealthy, delays, never, operatorDelay, kind in
            let strategy: UpdatePolicy.Strategy = kind == 0 ? .canary : .blueGreen
            let healthyDeadline = 4_000
            let progressDeadline = 8_000
            let from = strategyManifest(
                strategy, image: "web:1", count: count, canary: min(canary, count), autoPromote: autoPromote, minHealthyMs: minHealthy,
                healthyDeadlineMs: healthyDeadline, progressDeadlineMs: progressDeadline)
            var to = from
            to.agents[0].workload = .image("web:2")
            if kind == 2 { to.edges = [TopologyEdge(from: "web", to: "steady")] }  // a topology change under canary
            let fate: (InstanceID) -> Int64? = { id in
                let slot = id.agent == "steady" ? 5 : id.index
                return never[slot] ? nil : Int64(delays[slot])
            }
            let run = simulate(from: from, to: to, fate: fate, start: t0, operatorDelayMs: autoPromote ? nil : Int64(operatorDelay))
            // The first wave: the canaries, or every unit of a blue-green (the whole job when the topology changed).
            let webUnits = (0..<count).map { "web/\($0)" }
            let firstWave = kind == 0 ? Array(webUnits.prefix(min(canary, count))) : kind == 1 ? webUnits : webUnits + ["steady/0"]
            if let promotion = run.promotion {
                let unhealthy = firstWave.filter { !promotion.done.contains($0) || !promotion.healthy.contains($0) }
                #expect(unhealthy.isEmpty, "promoted while \(unhealthy) were not healthy for min_healthy_ms")
            }
            #expect(run.everyUnitServed, "a unit had neither its old nor its new instance")
            #expect(run.maxSilenceMs <= Int64(progressDeadline), "went \(run.maxSilenceMs) ms without progress or failing")
            switch run.outcome {
            case .succeeded?:
                #expect(run.promotedAt != nil, "succeeded without a promotion")
                #expect(run.finalDesired.allSatisfy { $0.version == 2 && $0.role == .primary })
            case .failed?:
                #expect(run.finalDesired.contains { $0.version == 1 }, "a failed rollout must leave the old version serving")
            default:
                Issue.record("no terminal outcome: \(String(describing: run.outcome))")
            }
        }
    }
}

@Suite("Automatic reverts")
struct RevertPlannerTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    @Test("a revert to a canary version skips the canary phase: every unit goes back at once, with no wait for promotion")
    func revertSkipsCanary() {
        let stable = strategyManifest(.canary, image: "web:1", count: 3, canary: 1)
        let failed = strategyManifest(.canary, image: "web:2", count: 3, canary: 1)
        let plan = RolloutPlanner.plan(
            .init(
                from: .init(version: 2, manifest: failed), to: .init(version: 3, manifest: stable), state: RolloutState(target: 3, now: t0),
                instances: [], now: t0, isRevert: true))
        #expect(plan.state.strategy == .rolling)
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 3 }.map(\.id.index) == [0, 1, 2], "all at once")
        #expect(plan.desired.allSatisfy { $0.role == .primary }, "no canaries")
        let healthy = plan.desired.map {
            InstanceStatus(id: $0.id, version: $0.version, specHash: $0.specHash, phase: .running, health: .healthy)
        }
        let next = RolloutPlanner.plan(
            .init(
                from: .init(version: 2, manifest: failed), to: .init(version: 3, manifest: stable), state: plan.state, instances: healthy,
                now: t0,
                isRevert: true))
        #expect(next.outcome == .succeeded)
    }
}
