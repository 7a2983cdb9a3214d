import Logging
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("An idle agent pass writes only its pass time (real redis-server, fake runtime)", .serialized)
    struct IdlePassTests {
        /// Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
        func commandCalls(_ redis: RedisClient) async throws -> [String: Int] {
            let text = try await redis.run("INFO", "commandstats").string ?? ""
            var calls: [String: Int] = [:]
            for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
                // cmdstat_hset:calls=1,usec=3,...
                let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let field = parts[1].split(separator: ",").first, field.hasPrefix("calls="),
                    let count = Int(field.dropFirst("calls=".count))
                else { continue }
                calls[String(parts[0])] = count
            }
            return calls
        }

        @Test("once a deployment runs, a pass that changes nothing writes no record, no report, no transaction")
        func idlePass() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let runtime = FakeContainerRuntime()
                var logger = Logger(label: "test")
                logger.logLevel = .critical
                let agent = NodeAgent(store: store, runtime: runtime, settings: .init(node: "n1"), logger: logger)
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
                let runtime = FakeContainerRuntime()
                var logger = Logger(label: "test")
                logger.logLevel = .critical
                let agent = NodeAgent(store: store, runtime: runtime, settings: .init(node: "n1"), logger: logger)
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
