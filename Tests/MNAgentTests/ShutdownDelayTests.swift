import MNCore
import MNReconcile
import MNTestSupport
import Synchronization
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("A shutdown delay counts from the report that takes the instance out of discovery (real redis-server, fake runtime)")
    struct ShutdownDelayTests {
        static let node = NodeID("n1")
        static let delayMs = 600

        static func manifest(count: Int) -> Manifest {
            let agent = AgentSpec(
                id: "web", count: count, workload: .image("web:1"), ports: [PortMapping(name: "http", containerPort: 8080)],
                lifecycle: Lifecycle(stopSignal: "SIGTERM", gracePeriodMs: 1_000, shutdownDelayMs: delayMs),
                services: [ServiceSpec(name: "web", port: "http")])
            var policies = Policies.defaults
            policies.update.minHealthyMs = 100
            return Manifest(key: "web", agents: [agent], policies: policies)
        }

        @Test("a pass that is slow to act and check health before its report still gives the draining instance its whole delay")
        func delayStartsAtTheReport() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                let runtime = FakeContainerRuntime()
                // The pass in which the drain begins spends 400 ms between acting and reporting
                // (a busy host's podman calls and health checks); when that ended is noted.
                let slowPassEnded = Mutex<Timestamp?>(nil)
                let agent = try await quietAgent(store, runtime, node: Self.node) { plan in
                    guard !plan.draining.isEmpty, slowPassEnded.withLock({ $0 == nil }) else { return }
                    try await Task.sleep(for: .milliseconds(400))
                    slowPassEnded.withLock { $0 = .now() }
                }
                _ = try await store.apply(Self.manifest(count: 2), to: Self.node, at: .now())
                try await eventually("two instances run") {
                    _ = try await agent.pass()
                    let alive = try await runtime.listManaged().filter(\.isAlive).count
                    return try await store.deployment("web")?.status == .running && alive == 2
                }

                _ = try await store.apply(Self.manifest(count: 1), to: Self.node, at: .now())
                var drain: NodeReport.DrainingContainer?
                try await eventually("one instance drains") {
                    _ = try await agent.pass()
                    drain = try await store.report(of: Self.node)?.draining.first
                    return drain != nil
                }
                let drained = try #require(drain)
                let reported = try #require(slowPassEnded.withLock { $0 }, "the drain began without the slow pass")
                #expect(drained.since >= reported, "the drain was dated from the start of its pass, before its report was written")
                #expect(try await store.report(of: Self.node)?.services.count == 1, "the draining instance is still registered")

                // It is stopped once its delay, counted from the report, has passed, and not before.
                let due = drained.since.adding(ms: Int64(Self.delayMs))
                try await eventually("the drained instance stops") {
                    _ = try await agent.pass()
                    let alive = try await runtime.listManaged().contains { $0.id == drained.container && $0.isAlive }
                    if !alive { #expect(Timestamp.now() >= due, "stopped before its shutdown delay had passed") }
                    return !alive
                }
            }
        }
    }
}
