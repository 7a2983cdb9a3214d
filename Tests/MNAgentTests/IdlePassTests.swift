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
                let agent = try await quietAgent(store, FakeContainerRuntime())
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

        @Test("a follower wakes only for its own assignment; the controller for every deployment change and report, and it assigns only where something runs")
        func wakeUps() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let leader = try await quietAgent(store, FakeContainerRuntime(), node: "n1")
                let follower = try await quietAgent(store, FakeContainerRuntime(), node: "n2", leading: false)
                func wakes(_ agent: NodeAgent<FakeContainerRuntime>, _ channel: String, _ payload: String) -> String {
                    let wakes = agent.wakes(channel: channel, payload: payload)
                    return (wakes.node ? "node" : "-") + " " + (wakes.controller ? "controller" : "-")
                }
                #expect(wakes(follower, StoreKeys.assigned, "n2") == "node -")
                #expect(wakes(follower, StoreKeys.assigned, "n1") == "- -", "another node's assignment")
                #expect(wakes(follower, StoreKeys.changes, "web") == "- -", "deployments are the controller's")
                #expect(wakes(follower, StoreKeys.reported, "n1") == "- -", "reports are the controller's (nothing here waits on services)")
                #expect(wakes(leader, StoreKeys.changes, "web") == "- controller")
                #expect(wakes(leader, StoreKeys.reported, "n2") == "- controller")
                #expect(wakes(leader, StoreKeys.assigned, "n2") == "- -")

                // Pinned to n1: n1 is assigned web; n2, with nothing to run and no assignment before, gets none.
                let web = Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("web:1"))])
                _ = try await store.apply(web, to: "n1", at: .now())
                try await eventually("web runs on n1") {
                    _ = try await leader.pass()
                    return try await store.deployment("web")?.status == .running
                }
                #expect(try await store.assignment(of: "n1")?.instances.map(\.id.description) == ["web/web/0"])
                #expect(try await store.assignment(of: "n2") == nil)
                await redis.close()
            }
        }
    }
}
