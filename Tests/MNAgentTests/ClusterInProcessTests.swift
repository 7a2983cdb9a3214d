import Foundation
import Logging
import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import Testing

extension RealProcesses {
    @Suite("A cluster of agents in one process (real redis-server, fake runtimes)", .serialized)
    struct ClusterInProcessTests {
        static let ttl = Duration.milliseconds(600)

        /// One node's agent with its heartbeat and its candidacy for the lease, each running as a task.
        final class Member: Sendable {
            let node: NodeID
            let runtime: FakeContainerRuntime
            let election: LeaderElection
            let client: RedisClient
            let tasks: [Task<Void, any Error>]

            init(_ node: NodeID, redis: RedisURL, runtime: FakeContainerRuntime) {
                var logger = Logger(label: "cluster-test")
                logger.logLevel = .critical
                self.node = node
                self.runtime = runtime
                client = RedisClient(url: redis)
                let store = DeploymentStore(redis: client)
                let lease = LeaderLease(redis: client, node: node, ttl: ClusterInProcessTests.ttl)
                election = LeaderElection(lease: lease, logger: logger)
                let heartbeat = NodeHeartbeat(
                    registry: NodeRegistry(redis: client),
                    info: NodeInfo(id: node, hostname: node.rawValue, capacity: NodeCapacity(cpuMillis: 8_000, memoryMB: 16_384)),
                    ttl: ClusterInProcessTests.ttl, logger: logger)
                let agent = NodeAgent(
                    store: store, runtime: runtime, settings: .init(node: node, resyncIntervalMs: 300), logger: logger,
                    controller: .init(controller: ClusterController(store: store, lease: lease, logger: logger), election: election))
                let election = election
                tasks = [Task { try await agent.run() }, Task { try await election.run() }, Task { try await heartbeat.run() }]
            }

            /// Stops its agent, heartbeat and candidacy (its containers keep running).
            func stop() async {
                for task in tasks {
                    task.cancel()
                    _ = await task.result
                }
                await client.close()
            }
        }

        static func manifest(_ greeting: String) -> Manifest {
            var policies = Policies.defaults
            policies.update.maxParallel = 1
            policies.update.minHealthyMs = 300
            policies.update.healthyDeadlineMs = 30_000
            policies.update.progressDeadlineMs = 60_000
            return Manifest(
                key: "web", agents: [AgentSpec(id: "web", count: 6, workload: .image("web:1"), env: ["GREETING": greeting])],
                policies: policies)
        }

        /// Alive containers on each node: node → container ids with their spec hashes.
        static func alive(_ members: [NodeID: FakeContainerRuntime]) async throws -> [(node: NodeID, container: ObservedContainer)] {
            var result: [(node: NodeID, container: ObservedContainer)] = []
            for (node, runtime) in members.sorted(by: { $0.key < $1.key }) {
                for container in try await runtime.listManaged() where container.isAlive { result.append((node, container)) }
            }
            return result
        }

        @Test("three agents: one leads, a count-6 service spreads 2/2/2, the leader stops mid-rollout and another finishes it with exactly six new instances")
        func handoverMidRollout() async throws {
            try await RedisServer.with { server in
                let admin = RedisClient(url: server.url)
                let store = DeploymentStore(redis: admin)
                var runtimes: [NodeID: FakeContainerRuntime] = [:]
                var members: [NodeID: Member] = [:]
                for node in ["a", "b", "c"].map(NodeID.init) {
                    runtimes[node] = FakeContainerRuntime()
                    members[node] = Member(node, redis: server.url, runtime: runtimes[node]!)
                }
                try await eventually("one agent leads") { try await LeaderLease.holder(in: admin) != nil }
                let leader = try #require(try await LeaderLease.holder(in: admin))

                let v1 = Self.manifest("v1")
                _ = try await store.apply(v1, pin: .keep, at: .now())
                try await eventually("v1 runs") { try await store.deployment("web")?.status == .running }
                let spread = Dictionary(grouping: try await Self.alive(runtimes), by: \.node).mapValues(\.count)
                #expect(spread == ["a": 2, "b": 2, "c": 2])

                let v2 = Self.manifest("v2")
                let v2Hash = v2.instanceHash(of: v2.agents[0])
                _ = try await store.apply(v2, pin: .keep, at: .now())
                try await eventually("the rollout is under way") {
                    try await Self.alive(runtimes).contains { $0.container.specHash == v2Hash }
                }
                await members[leader.node]!.stop()
                try await eventually("another agent leads", seconds: 10) {
                    guard let holder = try await LeaderLease.holder(in: admin) else { return false }
                    return holder.node != leader.node && holder.epoch > leader.epoch
                }
                // The stopped node's agent comes back as a new process (systemd restarts it).
                members[leader.node] = Member(leader.node, redis: server.url, runtime: runtimes[leader.node]!)

                try await eventually("v2 rolled out", seconds: 60) {
                    let record = try await store.deployment("web")
                    return record?.status == .running && record?.rollbackTarget == 2
                }
                try await eventually("exactly six instances of v2 run, each once") {
                    let alive = try await Self.alive(runtimes)
                    return alive.count == 6 && alive.allSatisfy { $0.container.specHash == v2Hash }
                        && Set(alive.compactMap(\.container.instanceID)).count == 6
                }
                var creates = 0
                for runtime in runtimes.values {
                    creates += await runtime.calls.filter { if case .create(let name) = $0 { name.hasSuffix(v2Hash.short) } else { false } }.count
                }
                #expect(creates == 6, "a new instance was created twice (\(creates) creates of v2)")
                for member in members.values { await member.stop() }
                await admin.close()
            }
        }

        @Test("an unplaceable manifest: its status says why, per node; nothing is checked or started; it runs once a node fits")
        func unplaceable() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let runtime = FakeContainerRuntime()
                let agent = try await quietAgent(store, runtime)
                var manifest = Self.manifest("v1")
                manifest.constraints = [PlacementConstraint(.meta("rack"), .equals("r9"))]
                _ = try await store.apply(manifest, pin: .keep, at: .now())
                for _ in 0..<3 { _ = try await agent.pass() }
                let record = try #require(try await store.deployment("web"))
                #expect(record.status == .validating)
                #expect(record.unplaced == "no node fits agent \"web\": n1: needs meta.rack = r9, has no meta.rack")
                #expect(try await runtime.listManaged().isEmpty)
                #expect(try await store.verdict(on: "web", of: "n1") == nil, "a version no node fits was checked")

                try await NodeRegistry(redis: redis).register(
                    NodeInfo(id: "n1", hostname: "n1", meta: ["rack": "r9"], capacity: NodeCapacity(cpuMillis: 8_000, memoryMB: 16_384)),
                    ttl: .seconds(3_600))
                try await eventually("it runs once the node fits") {
                    _ = try await agent.pass()
                    return try await store.deployment("web")?.status == .running
                }
                #expect(try await store.deployment("web")?.unplaced == nil)
                #expect(try await runtime.listManaged().count == 6)
                await redis.close()
            }
        }

        @Test("drain through Redis: the node turns ineligible, its instances move to the other node, undrain moves nothing back; bad changes are refused")
        func drain() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let (one, two) = (FakeContainerRuntime(), FakeContainerRuntime())
                let leader = try await quietAgent(store, one, node: "n1")
                let follower = try await quietAgent(store, two, node: "n2", leading: false)
                func passes() async throws {
                    _ = try await leader.pass()
                    _ = try await follower.pass()
                }
                var manifest = Self.manifest("v1")
                manifest.agents[0].count = 2
                _ = try await store.apply(manifest, pin: .keep, at: .now())
                try await eventually("v1 runs 1/1") {
                    try await passes()
                    return try await store.deployment("web")?.status == .running
                }
                let (onOne, onTwo) = (try await one.listManaged().count, try await two.listManaged().count)
                #expect(onOne == 1 && onTwo == 1)

                let registry = NodeRegistry(redis: redis)
                await #expect(throws: StoreError.self) { try await registry.administer("nope") { $0.eligible = false } }
                let now = Timestamp.now()
                try await registry.administer("n2") { $0.drain = NodeDrain(reason: "driver update", by: "test", since: now, deadline: now.adding(ms: 600_000)) }
                let entry = try #require(try await registry.entries().first { $0.info.id == "n2" })
                #expect(entry.info.draining && !entry.info.eligible && entry.administration.drain?.reason == "driver update")
                try await eventually("n2's instance moved to n1") {
                    try await passes()
                    let (alive, left) = (try await one.listManaged().filter(\.isAlive).count, try await two.listManaged().filter(\.isAlive))
                    return alive == 2 && left.isEmpty
                }
                #expect(try await store.deployment("web")?.status == .running)

                try await registry.administer("n2") { state in
                    state.drain = nil
                    state.eligible = true
                }
                for _ in 0..<3 { try await passes() }
                #expect(try await two.listManaged().filter(\.isAlive).isEmpty, "something moved back after undrain")
                await redis.close()
            }
        }

        @Test("a record from before versions were kept apart (versions inline) keeps every version when the controller writes it")
        func legacyRecord() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                let agent = try await quietAgent(store, FakeContainerRuntime())
                let legacy = Deployment(first: Self.manifest("v1"), at: .now())
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try await redis.run("SET", StoreKeys.deployment("web"), String(decoding: try encoder.encode(legacy), as: UTF8.self))
                try await redis.run("SADD", StoreKeys.deployments, "web")
                try await eventually("the legacy deployment runs") {
                    _ = try await agent.pass()
                    return try await DeploymentStore(redis: redis).deployment("web")?.status == .running
                }
                #expect(try await redis.run("HLEN", StoreKeys.versions("web")) == .integer(1), "the controller dropped the inline versions")
                #expect(try await DeploymentStore(redis: redis).deployment("web")?.versions.map(\.number) == [1])
                await redis.close()
            }
        }

        @Test("a controller that lost its lease (paused past the TTL) writes nothing: no assignment, no record change")
        func fencedController() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let store = DeploymentStore(redis: redis)
                var logger = Logger(label: "fenced")
                logger.logLevel = .critical
                try await register("n1", in: store)
                let paused = LeaderLease(redis: redis, node: "n1", ttl: .seconds(60))
                guard case .acquired(let old) = try await paused.acquire() else {
                    Issue.record("no lease")
                    return
                }
                // It pauses; its lease expires and another agent takes it.
                try await redis.run("PEXPIRE", StoreKeys.leader, "1")
                try await eventually("the lease expired", seconds: 5) { try await redis.run("GET", StoreKeys.leader) == .null }
                guard case .acquired = try await LeaderLease(redis: redis, node: "n2", ttl: .seconds(60)).acquire() else {
                    Issue.record("the other agent did not get the lease")
                    return
                }
                _ = try await store.apply(Self.manifest("v1"), pin: .keep, at: .now())
                let before = try await redis.run("GET", StoreKeys.deployment("web"))

                await #expect(throws: LeaderLease.Fenced.self) {
                    try await ClusterController(store: store, lease: paused, logger: logger).pass(under: old, at: .now())
                }
                #expect(try await store.assignment(of: "n1") == nil, "the fenced controller assigned something")
                #expect(try await redis.run("GET", StoreKeys.deployment("web")) == before, "the fenced controller changed the record")
                await redis.close()
            }
        }
    }
}
