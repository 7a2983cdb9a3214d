import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("An idle agent pass writes only its pass time (real redis-server, fake runtime)", .serialized)
    struct IdlePassTests {
        @Test("once a deployment runs, a pass that changes nothing writes no record, no report, no transaction")
        func idlePass() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let agent = quietAgent(store, FakeContainerRuntime())
                let manifest = Manifest(key: "web", agents: [AgentSpec(id: "web", count: 3, workload: .image("web:1"))])
                _ = try await store.apply(manifest, to: "n1", at: .now())
                try await eventually("v1 runs") {
                    _ = try await agent.pass()
                    return try await store.deployment("web")?.status == .running
                }
                _ = try await agent.pass()  // settles the report

                try await redis.run("CONFIG", "RESETSTAT")
                let (plan, _) = try #require(try await agent.pass())
                #expect(plan.actions.isEmpty)
                let calls = try await commandCalls(redis)
                for write in ["set", "multi", "exec", "watch", "publish", "del"] {
                    #expect(calls[write] == nil, "an idle pass ran \(write.uppercased()) \(calls[write] ?? 0) times: \(calls)")
                }
                #expect(calls["hset"] == 1, "the pass time is written once: \(calls)")
                await redis.close()
            }
        }

        @Test("a change announced for another node's deployment wakes no pass here; its own, or one it has containers of, does")
        func changePayload() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let agent = quietAgent(store, FakeContainerRuntime())
                let web = Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("web:1"))])
                let other = Manifest(key: "other", agents: [AgentSpec(id: "web", workload: .image("web:1"))])
                _ = try await store.apply(web, to: "n1", at: .now())
                _ = try await store.apply(other, to: "n2", at: .now())
                #expect(await agent.concerns("web"), "its own deployment, before any pass")
                #expect(await !agent.concerns("other"), "another node's deployment")

                // web moves away: the last pass saw it (and its container) here, so its changes still matter.
                _ = try await agent.pass()
                _ = try await store.apply(web, on: .node("n2"), at: .now())
                #expect(await agent.concerns("web"))

                await server.stop()
                #expect(await agent.concerns("unknown"), "when Redis cannot tell, a pass runs")
                await redis.close()
            }
        }
    }
}
