import MNCore
import MNReconcile
import MNTestSupport
import Synchronization
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("A crash between acting and recording never undoes a rollout (real redis-server, fake runtime)", .serialized)
    struct CrashBetweenActAndRecordTests {
        struct Crash: Error {}

        /// True the first time it is asked, then never again.
        final class Once: Sendable {
            private let armed = Mutex(true)
            func fire() -> Bool { armed.withLock { armed in defer { armed = false }; return armed } }
        }

        static let node = NodeID("n1")

        static func manifest(_ image: String) -> Manifest {
            var policies = Policies.defaults
            policies.update.maxParallel = 1
            policies.update.minHealthyMs = 100
            policies.update.healthyDeadlineMs = 30_000
            policies.update.progressDeadlineMs = 60_000
            return Manifest(key: "web", agents: [AgentSpec(id: "web", count: 3, workload: .image(image))], policies: policies)
        }

        /// An agent on `runtime`; with `crash`, every pass that retires an old container and
        /// starts a new one in the same plan dies right after acting (once).
        static func agent(_ store: DeploymentStore, _ runtime: FakeContainerRuntime, crash: Once? = nil) async throws
            -> NodeAgent<FakeContainerRuntime>
        {
            try await quietAgent(store, runtime, node: node) { plan in
                guard let crash else { return }
                let retires = plan.actions.contains { if case .stop(let stop) = $0 { stop.reason == .superseded } else { false } }
                let starts = plan.actions.contains { if case .start = $0 { true } else { false } }
                if retires && starts && crash.fire() { throw Crash() }
            }
        }

        @Test("kill -9 right after a rolling step acts: the restarted agent adopts the new container and never restarts the retired one")
        func resumesWithoutUndoing() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let runtime = FakeContainerRuntime()
                let v1 = Self.manifest("web:1")
                let v2 = Self.manifest("web:2")
                let v2Hash = v2.instanceHash(of: v2.agents[0])

                _ = try await store.apply(v1, to: Self.node, at: .now())
                let first = try await Self.agent(store, runtime)
                try await eventually("v1 runs") {
                    _ = try await first.pass()
                    return try await store.deployment("web")?.status == .running
                }

                _ = try await store.apply(v2, to: Self.node, at: .now())
                let crashing = try await Self.agent(store, runtime, crash: Once())
                var oldBefore: Set<ContainerID> = []
                try await eventually("a rolling step that retires an old instance and starts the next one acted, then the agent died") {
                    oldBefore = Set(try await runtime.listManaged().filter { $0.specHash != v2Hash && $0.isAlive }.map(\.id))
                    do { _ = try await crashing.pass() } catch is Crash { return true }
                    return false
                }

                // What the dead agent left: the new containers it started, the old ones it retired.
                let atCrash = try await runtime.listManaged()
                let newAlive = Set(atCrash.filter { $0.specHash == v2Hash && $0.isAlive }.map(\.id))
                let retired = oldBefore.subtracting(atCrash.filter(\.isAlive).map(\.id))
                #expect(newAlive.count >= 2 && !retired.isEmpty, "the crash did not land between a retire and a start")
                let callsBefore = await runtime.calls.count

                // A new agent process (nothing in memory) on the same node and store.
                let restarted = try await Self.agent(store, runtime)
                try await eventually("v2 rolled out") {
                    _ = try await restarted.pass()
                    return try await store.deployment("web")?.status == .running
                }
                let after = await runtime.calls.dropFirst(callsBefore)
                for call in after {
                    switch call {
                    case .stop(let id, _, _), .remove(let id):
                        #expect(!newAlive.contains(id), "the restarted agent stopped or removed a new container the dead one had started")
                    case .start(let id):
                        #expect(!retired.contains(id), "the restarted agent restarted an old container the dead one had retired")
                    default: break
                    }
                }
                let final = try await runtime.listManaged().filter(\.isAlive)
                #expect(final.count == 3 && final.allSatisfy { $0.specHash == v2Hash })
                let creates = await runtime.calls.filter { if case .create(let name) = $0 { name.hasSuffix(v2Hash.short) } else { false } }
                #expect(creates.count == 3, "a new instance was created twice")
                let oldCreates = after.filter { if case .create(let name) = $0 { !name.hasSuffix(v2Hash.short) } else { false } }
                #expect(oldCreates.isEmpty, "the restarted agent brought back an old instance the dead one had retired")
                await redis.close()
            }
        }
    }
}
