import Foundation
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    /// `kill -9` of the agent (which is also the controller) between any two runtime calls of a
    /// rolling, a canary and a blue-green update, then a new agent process on the same store and
    /// runtime: it converges to exactly the new version's instances, each once, with nothing of
    /// the old left in any state, and the history intact. The crash points are found by the
    /// test: a clean run counts the update's creates, starts, stops and removes (N), and the
    /// crash lands after each k of them, k = 0 … N (the fake runtime freezes every later call,
    /// as the next call of a dead process never comes). `MN_FAULTS=full` runs every point; by
    /// default every other one (and always the first and the last).
    @Suite("Crash matrix: kill -9 at every runtime-call boundary of an update converges (real redis-server, fake runtime)", .serialized)
    struct CrashMatrixTests {
        static let node = NodeID("n1")
        static let count = 4
        static let full = ProcessInfo.processInfo.environment["MN_FAULTS"] == "full"

        static func manifest(_ image: String, _ strategy: UpdatePolicy.Strategy) -> Manifest {
            var policies = Policies.defaults
            policies.update.strategy = strategy
            policies.update.maxParallel = strategy == .canary ? 2 : 1
            policies.update.canary = strategy == .canary ? 1 : 0
            policies.update.autoPromote = strategy != .rolling
            policies.update.minHealthyMs = 50
            policies.update.healthyDeadlineMs = 30_000
            policies.update.progressDeadlineMs = 60_000
            return Manifest(key: "web", agents: [AgentSpec(id: "web", count: count, workload: .image(image))], policies: policies)
        }

        /// Runs v1 to Running, then applies v2; with `crashAfter`, the agent dies after that
        /// many runtime mutations of the update and a new one finishes it. Returns the update's
        /// mutations (those of the agent that ran it to the end).
        static func update(_ strategy: UpdatePolicy.Strategy, crashAfter: Int?) async throws -> Int {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                let runtime = FakeContainerRuntime()
                let v2 = manifest("web:2", strategy)
                _ = try await store.apply(manifest("web:1", strategy), to: node, at: .now())
                let first = try await quietAgent(store, runtime, node: node)
                try await eventually("v1 runs") {
                    _ = try await first.pass()
                    return try await store.deployment("web")?.status == .running
                }
                _ = try await store.apply(v2, to: node, at: .now())
                await runtime.clearCalls()
                var agent = first
                if let crashAfter {
                    await runtime.freeze(afterMutations: crashAfter)
                    let dying = Task { for _ in 0..<2_000 { _ = try await first.pass() } }
                    try await eventually("the agent reaches crash point \(crashAfter)") { await runtime.frozenCalls > 0 }
                    dying.cancel()  // it never runs again: its suspended call is where it died
                    await runtime.thaw()
                    agent = try await quietAgent(store, runtime, node: node)  // a new process, nothing in memory
                }
                let v2Hash = v2.instanceHash(of: v2.agents[0])
                try await eventually("v2 rolled out after a crash at \(crashAfter.map(String.init) ?? "no point")") {
                    _ = try await agent.pass()
                    let deployment = try await store.deployment("web")
                    let all = await runtime.all
                    return deployment?.status == .running && deployment?.versions.count == 2 && all.count == count
                        && all.allSatisfy { $0.specHash == v2Hash }
                }

                // Exactly the new version's instances, each once, running; nothing of v1 in any state.
                let all = await runtime.all
                let instances = all.compactMap(\.instanceID?.description).sorted()
                #expect(all.count == count && all.allSatisfy { $0.isAlive && $0.specHash == v2Hash }, "crash at \(crashAfter ?? -1): \(all)")
                #expect(instances == (0..<count).map { "web/web/\($0)" }, "crash at \(crashAfter ?? -1): \(instances)")
                let deployment = try #require(try await store.deployment("web"))
                #expect(deployment.versions.map(\.number) == [1, 2] && deployment.latest.manifest == v2)
                return await runtime.calls.filter {
                    if case .list = $0 { false } else { true }
                }.count
            }
        }

        @Test("rolling, canary with auto-promote, blue-green with auto-promote: every crash point converges", arguments: [
            UpdatePolicy.Strategy.rolling, .canary, .blueGreen,
        ])
        func matrix(_ strategy: UpdatePolicy.Strategy) async throws {
            let mutations = try await Self.update(strategy, crashAfter: nil)
            #expect(mutations >= 16, "\(strategy): the update made only \(mutations) runtime calls")
            let points = (0...mutations).filter { Self.full || $0 % 2 == 0 || $0 == mutations }
            for point in points { _ = try await Self.update(strategy, crashAfter: point) }
            print("crash matrix, \(strategy): \(points.count) of \(mutations + 1) crash points converged\(Self.full ? "" : " (MN_FAULTS=full runs all)")")
        }
    }
}
