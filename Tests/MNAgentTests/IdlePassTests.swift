import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("An idle agent pass costs Redis nothing between resyncs (real redis-server, fake runtime)", .serialized)
    struct IdlePassTests {
        @Test("once a deployment runs, a pass that changes nothing writes no record, no report, no pass time, no transaction")
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
                for write in ["set", "hset", "multi", "exec", "watch", "publish", "del", "exists"] {
                    #expect(calls[write] == nil, "an idle pass ran \(write.uppercased()) \(calls[write] ?? 0) times: \(calls)")
                }
                await redis.close()
            }
        }

        @Test("an idle agent writes its pass time (and checks that Redis still has its report) once per resync interval, not every pass")
        func passTimeAtResync() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let agent = try await quietAgent(store, FakeContainerRuntime(), resyncIntervalMs: 400)
                _ = try await store.apply(Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("web:1"))]), to: "n1", at: .now())
                try await eventually("v1 runs") {
                    _ = try await agent.pass()
                    return try await store.deployment("web")?.status == .running
                }
                _ = try await agent.pass()  // settles the report
                let written = try #require(try await redis.run("HGET", StoreKeys.nodes, "n1").string.flatMap(Int64.init))
                try await redis.run("CONFIG", "RESETSTAT")
                _ = try await agent.pass()
                #expect(try await commandCalls(redis)["hset"] == nil, "a pass right after the last write wrote its time again")

                // Once the resync is due, the next pass writes its time, after checking the report is there.
                try await eventually("the pass time is written again") {
                    _ = try await agent.pass()
                    return try await redis.run("HGET", StoreKeys.nodes, "n1").string.flatMap(Int64.init) ?? 0 > written
                }
                let calls = try await commandCalls(redis)
                #expect(calls["hset"] == 1 && calls["exists"] == 1, "\(calls)")
                await redis.close()
            }
        }

        @Test("while notifications reach the agent, an idle pass reads nothing from Redis; a notice that its assignment changed makes the next pass read it")
        func cachedAssignment() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let runtime = FakeContainerRuntime()
                let agent = try await quietAgent(store, runtime)
                agent.subscribed()  // what the run loop does once its subscription is up
                _ = try await store.apply(Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("web:1"))]), to: "n1", at: .now())
                try await eventually("v1 runs") {
                    agent.assignmentWasChanged()  // the controller's assignments publish mn:assigned
                    _ = try await agent.pass()
                    return try await store.deployment("web")?.status == .running
                }
                _ = try await agent.pass()  // settles the report
                try await redis.run("CONFIG", "RESETSTAT")
                _ = try await agent.nodePass()
                let idle = try await commandCalls(redis).filter { $0.key != "config|resetstat" }
                #expect(idle.isEmpty, "an idle node pass used Redis: \(idle)")

                // v2: the controller changes the assignment; without the notice the node keeps
                // what it read (until the resync), with it (every assignment publishes one) v2 starts.
                let v2 = Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("web:2"))])
                let v2Hash = v2.instanceHash(of: v2.agents[0])
                let before = try await redis.run("GET", StoreKeys.assignment("n1"))
                _ = try await store.apply(v2, to: "n1", at: .now())
                _ = try await agent.pass()
                #expect(try await redis.run("GET", StoreKeys.assignment("n1")) != before, "the controller did not change the assignment")
                #expect(try await store.verdict(on: "web", of: "n1")?.version != 2, "the node checked v2 without being told of it")
                #expect(try await runtime.listManaged().allSatisfy { $0.specHash != v2Hash })
                try await eventually("v2 starts") {
                    agent.assignmentWasChanged()
                    _ = try await agent.pass()
                    return try await runtime.listManaged().contains { $0.specHash == v2Hash && $0.isAlive }
                }
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
