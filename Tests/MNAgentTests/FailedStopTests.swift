import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("A container whose stop failed is reported as stopping until it is gone (real redis-server, fake runtime)")
    struct FailedStopTests {
        @Test("a scale-down whose stop fails once: the report lists the container as stopping, and the retry empties the list")
        func failedStopIsReported() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                let runtime = FakeContainerRuntime()
                let agent = try await quietAgent(store, runtime)
                var policies = Policies.defaults
                policies.update.minHealthyMs = 100
                func manifest(_ count: Int) -> Manifest {
                    Manifest(key: "web", agents: [AgentSpec(id: "web", count: count, workload: .image("web:1"))], policies: policies)
                }
                _ = try await store.apply(manifest(2), to: "n1", at: .now())
                try await eventually("two instances run") {
                    _ = try await agent.pass()
                    let alive = try await runtime.listManaged().filter(\.isAlive).count
                    return try await store.deployment("web")?.status == .running && alive == 2
                }

                await runtime.fail(.stop, message: "timed out waiting for the container to stop")
                _ = try await store.apply(manifest(1), to: "n1", at: .now())
                var stopping: [NodeReport.DrainingContainer] = []
                try await eventually("the failed stop is reported") {
                    _ = try await agent.pass()
                    stopping = try await store.report(of: "n1")?.stopping ?? []
                    return !stopping.isEmpty
                }
                #expect(stopping.map(\.instance?.description) == ["web/web/1"])
                #expect(try await runtime.listManaged().contains { $0.id == stopping[0].container && $0.isAlive })

                try await eventually("the retried stop succeeds and the list empties") {
                    _ = try await agent.pass()
                    let gone = try await !runtime.listManaged().contains { $0.id == stopping[0].container && $0.isAlive }
                    let reported = try await store.report(of: "n1")?.stopping ?? []
                    return gone && reported.isEmpty
                }
            }
        }
    }
}
