import MNCore
import MNReconcile
import Testing

@Suite("An operator's rollback: the old version's running instances are taken back at once")
struct RollbackPlannerTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    func healthy(_ desired: [DesiredInstance]) -> [InstanceStatus] {
        desired.map { InstanceStatus(id: $0.id, version: $0.version, specHash: $0.specHash, phase: .running, health: .healthy) }
    }

    @Test("blue-green with min_healthy and no auto_promote: a rollback to a version still running succeeds in the pass that sees it healthy, its instances primaries")
    func blueGreenRollbackIsAFlip() {
        let v1 = strategyManifest(.blueGreen, image: "web:1", count: 3, minHealthyMs: 10_000)
        let v2 = strategyManifest(.blueGreen, image: "web:2", count: 3, minHealthyMs: 10_000)
        let from = VersionedManifest(version: 2, manifest: v2)
        let back = VersionedManifest(version: 3, manifest: v1)
        // v1's containers still run (draining, or a target not retired): they report as v3's.
        let running = v1.desiredInstances(version: 3)
        let plan = RolloutPlanner.plan(
            .init(from: from, to: back, state: RolloutState(target: 3, now: t0), instances: healthy(running), now: t0, isRollback: true))
        #expect(plan.outcome == .succeeded, "\(plan.outcome)")
        #expect(plan.desired.filter { $0.id.agent == "web" }.allSatisfy { $0.version == 3 && $0.role == .primary })

        // The same copy applied as a new version (not a rollback) waits for min_healthy and promotion.
        let applied = RolloutPlanner.plan(
            .init(from: from, to: back, state: RolloutState(target: 3, now: t0), instances: healthy(running), now: t0))
        #expect(applied.outcome != .succeeded)
        #expect(applied.desired.contains { $0.role == .candidate })
    }

    @Test("canary: a rollback has no canary phase and keeps max_parallel")
    func canaryRollbackHasNoCanaries() {
        let v1 = strategyManifest(.canary, image: "web:1", count: 4, canary: 1)
        let v2 = strategyManifest(.canary, image: "web:2", count: 4, canary: 1)
        let plan = RolloutPlanner.plan(
            .init(
                from: VersionedManifest(version: 2, manifest: v2), to: VersionedManifest(version: 3, manifest: v1),
                state: RolloutState(target: 3, now: t0), instances: [], now: t0, isRollback: true))
        #expect(plan.state.strategy == .rolling)
        #expect(!plan.desired.contains { $0.role == .canary })
        #expect(plan.desired.filter { $0.id.agent == "web" && $0.version == 3 }.count == 1, "max_parallel 1 kept")
    }
}
