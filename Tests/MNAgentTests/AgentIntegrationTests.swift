import Foundation
import Logging
@testable import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import Testing

/// Real redis-server, real podman service, the agent running in-process.
struct AgentHarness {
    let redis: RedisServer
    let podman: PodmanService
    let store: DeploymentStore
    let key: String
    let node = NodeID("it-node")

    let agents = AgentTasks()
    let agentClients = RedisClients()

    /// Runs `body` with fresh servers and always cleans up: agents, containers, servers.
    static func with(_ body: (AgentHarness) async throws -> Void) async throws {
        let redis = try await RedisServer.start()
        let podman: PodmanService
        do { podman = try await PodmanService.start() } catch {
            await redis.destroy()
            throw error
        }
        let harness = AgentHarness(
            redis: redis, podman: podman, store: DeploymentStore(redis: RedisClient(url: redis.url)),
            key: "it-\(UUID().uuidString.prefix(6).lowercased())")
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    private func stop() async {
        await agents.cancelAll()
        await podman.stop(removingContainersOf: key)
        await store.redis.close()
        await agentClients.closeAll()
        await redis.destroy()
    }

    func manifest(
        _ greeting: String, restartDelayMs: Int = 200, checks: String = "[]", count: Int = 1, healthyDeadlineMs: Int = 5_000,
        autoRevert: Bool = false, canary: Int = 0, blueGreen: Bool = false, image: String = PodmanService.testImage, hostPort: Int? = nil
    ) throws -> Manifest {
        try Manifest.parse(
            Data(
                """
                {"deployment":{"key":"\(key)"},"agents":[{"id":"httpd","image":"\(image)","count":\(count),
                 "args":["httpd","-f","-p","8080","-h","/www"],"env":{"GREETING":"\(greeting)"},
                 "ports":[{"name":"http","container_port":8080\(hostPort.map { ",\"host_port\":\($0)" } ?? "")}],"health_checks":\(checks),
                 "lifecycle":{"grace_period_ms":2000}}],
                 "policies":{"restart":{"attempts":5,"interval_ms":60000,"delay_ms":\(restartDelayMs),"delay_function":"constant"},
                  "update":{"min_healthy_ms":200,"healthy_deadline_ms":\(healthyDeadlineMs),"progress_deadline_ms":10000,
                    "auto_revert":\(autoRevert)\(canary > 0 ? #","strategy":"canary","canary":\#(canary)"# : "")\(
                        blueGreen ? #","strategy":"blue-green""# : "")}}}
                """.utf8))
    }

    /// An agent of this harness's node, registered and holding the controller lease (a
    /// one-node cluster, as a single host runs).
    func agent(resyncIntervalMs: Int64) async throws -> NodeAgent<PodmanRuntime> {
        var logger = Logger(label: "mnagent-test")
        logger.logLevel = .warning
        let client = RedisClient(url: redis.url)
        await agentClients.add(client)
        let store = DeploymentStore(redis: client)
        try await register(node, in: store)
        return NodeAgent(
            store: store, runtime: podman.runtime, settings: .init(node: node, resyncIntervalMs: resyncIntervalMs),
            logger: logger, prober: PodmanHealthProber(runtime: podman.runtime),
            controller: try await controllerRole(store, node: node, logger: logger))
    }

    /// Runs the agent until the returned task is cancelled (or the harness stops).
    func runAgent(resyncIntervalMs: Int64 = 300) async throws -> Task<Void, any Error> {
        let agent = try await agent(resyncIntervalMs: resyncIntervalMs)
        let task = Task { try await agent.run() }
        await agents.add(task)
        return task
    }

    /// The containers of this harness's deployment.
    func containers() async throws -> [ObservedContainer] {
        try await podman.runtime.listManaged().filter { $0.labels[ContainerLabel.deploymentKey] == key }
    }

    /// Waits (polling podman and Redis, up to `seconds`) until `condition` holds.
    func eventually(_ what: String, seconds: Int = 30, _ condition: () async throws -> Bool)
        async throws
    {
        try await MNAgentTests.eventually(what, seconds: seconds, condition)
    }

    /// podman's own record of container events for this deployment: (action, instance, spec hash, time ns).
    func podmanEvents() async throws -> [(action: String, instance: String, hash: String, at: Int64)] {
        let podman = try #require(ChildProcess.find("podman"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mn-events-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let events = try ChildProcess(
            executable: podman,
            arguments: ["events", "--stream=false", "--since", "5m", "--filter", "label=mn.deployment.key=\(key)", "--format", "json"],
            logFile: file)
        #expect(await events.exit() == 0)
        // The CLI's JSON: {"Status":"create","Time":"2026-11-23T08:43:00.511022535Z","Attributes":{labels…}}
        struct Event: Decodable {
            let Status: String
            let Time: String
            let Attributes: [String: String]?
        }
        func nanoseconds(_ time: String) -> Int64 {
            let parts = time.dropLast().split(separator: ".")
            let formatter = ISO8601DateFormatter()
            let seconds = Int64(formatter.date(from: String(parts[0]) + "Z")?.timeIntervalSince1970 ?? 0)
            let fraction = parts.count > 1 ? Int64(String(parts[1]).padding(toLength: 9, withPad: "0", startingAt: 0)) ?? 0 : 0
            return seconds * 1_000_000_000 + fraction
        }
        let lines = (try String(contentsOfFile: file, encoding: .utf8)).split(separator: "\n")
        return lines.compactMap { line in
            guard let event = try? JSONDecoder().decode(Event.self, from: Data(line.utf8)) else { return nil }
            let labels = event.Attributes ?? [:]
            return (event.Status, labels["mn.instance"] ?? "", labels["mn.spec-hash"] ?? "", nanoseconds(event.Time))
        }
    }

    /// One running container of the deployment with `specHash`, reported in Redis with its id.
    func runningReported(_ specHash: SpecHash) async throws -> ContainerID? {
        let running = try await containers().filter { $0.state == .running && $0.specHash == specHash }
        guard running.count == 1, let container = running.first,
            let report = try await store.report(of: node),
            report.instances.contains(where: { $0.container == container.id && $0.phase == .running })
        else { return nil }
        return container.id
    }
}

/// The Redis clients a harness's agents use, closed when it stops.
actor RedisClients {
    private var clients: [RedisClient] = []
    func add(_ client: RedisClient) { clients.append(client) }
    func closeAll() async {
        for client in clients { await client.close() }
        clients = []
    }
}

/// The agent tasks a harness started.
actor AgentTasks {
    private var tasks: [Task<Void, any Error>] = []
    func add(_ task: Task<Void, any Error>) { tasks.append(task) }
    func cancelAll() async {
        for task in tasks {
            task.cancel()
            _ = await task.result
        }
        tasks = []
    }
}

extension RealProcesses {
    @Suite("Agent end to end on real Redis and podman", .serialized)
    struct AgentIntegrationTests {
        @Test(
            "apply v1: a container runs with mn's labels and its id is reported; an agent restart recreates nothing"
        )
        func applyAndRestartAgent() async throws {
            try await AgentHarness.with { harness in
                let agent = try await harness.runAgent()
                let v1 = try harness.manifest("v1")
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                var id: ContainerID?
                try await harness.eventually("v1 runs and is reported") {
                    id = try await harness.runningReported(v1.instanceHash(of: v1.agents[0]))
                    return id != nil
                }
                let container = try #require(try await harness.containers().first)
                #expect(container.labels[ContainerLabel.agent] == "httpd")
                #expect(container.labels[ContainerLabel.instance] == "0")
                #expect(container.labels[ContainerLabel.deploymentVersion] == "1")
                #expect(container.labels[ContainerLabel.role] == "primary")

                agent.cancel()
                _ = await agent.result
                let before = try await harness.containers()
                let again = try await harness.runAgent()
                let firstReport = try await harness.store.report(of: harness.node)?.at
                try await harness.eventually("the restarted agent reports") {
                    try await harness.store.report(of: harness.node)?.at != firstReport
                }
                let after = try await harness.containers()
                #expect(after.map(\.id) == before.map(\.id), "no container was recreated")
                #expect(after.map(\.startedAt) == before.map(\.startedAt), "no container was restarted")
                again.cancel()
                _ = await again.result
            }
        }

        @Test("apply v2: the old container is stopped by id, the new one runs, versions 1 and 2 are kept")
        func update() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let v1 = try harness.manifest("v1")
                let v2 = try harness.manifest("v2")
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                var oldID: ContainerID?
                try await harness.eventually("v1 runs") {
                    oldID = try await harness.runningReported(v1.instanceHash(of: v1.agents[0]))
                    return oldID != nil
                }
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("v2 replaced v1") {
                    let all = try await harness.containers()
                    let reported = try await harness.runningReported(v2.instanceHash(of: v2.agents[0]))
                    return all.count == 1 && all[0].id != oldID && reported != nil
                }
                #expect(
                    try await harness.store.deployment(DeploymentKey(harness.key))?.versions.map(\.number) == [
                        1, 2,
                    ])
            }
        }

        @Test(
            "a container killed behind the agent's back is started again, by id, as the restart policy says"
        )
        func killedContainerRestarts() async throws {
            try await AgentHarness.with { harness in
                // A resync a minute away: only podman's event stream can wake the agent in time.
                _ = try await harness.runAgent(resyncIntervalMs: 60_000)
                let v1 = try harness.manifest("v1", restartDelayMs: 200)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                var id: ContainerID?
                try await harness.eventually("v1 runs") {
                    id = try await harness.runningReported(v1.instanceHash(of: v1.agents[0]))
                    return id != nil
                }
                let killedID = try #require(id)
                let podman = try #require(ChildProcess.find("podman"))
                let kill = try ChildProcess(
                    executable: podman, arguments: ["kill", "--signal", "KILL", killedID.rawValue])
                #expect(await kill.exit() == 0)
                try await harness.eventually("the same container runs again") {
                    let all = try await harness.containers()
                    let restarts =
                        try await harness.store.report(of: harness.node)?.records.first?.restarts.count ?? 0
                    return all.count == 1 && all[0].id == killedID && all[0].state == .running && restarts >= 1
                }
            }
        }

        @Test("Redis wiped under a running agent: no desired state is not an empty one, so nothing is stopped")
        func redisWiped() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let v1 = try harness.manifest("v1")
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.runningReported(v1.instanceHash(of: v1.agents[0])) != nil }
                let before = try await harness.containers()

                try await harness.store.redis.run("FLUSHALL")
                let wipedAt = Timestamp.now()
                // A deployment applied to another node must not make this one stop anything either.
                _ = try await harness.store.apply(try harness.manifest("elsewhere"), to: "other-node", at: .now())
                try await harness.eventually("the agent passes again after the wipe") {
                    (try await harness.store.nodes()[harness.node] ?? Timestamp(milliseconds: 0)) > wipedAt
                }
                let after = try await harness.containers()
                #expect(after.map(\.id) == before.map(\.id))
                #expect(after.allSatisfy { $0.state == .running })
            }
        }

        @Test(
            "Redis emptied, then another deployment placed on the node: the forgotten one's containers keep running and are reported as kept; applying its manifest again adopts them (same ids)"
        )
        func forgottenDeploymentIsKept() async throws {
            try await AgentHarness.with { harness in
                let first = try await harness.runAgent()
                let v1 = try harness.manifest("v1", count: 2)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") {
                    try await harness.store.report(of: harness.node)?.instances.filter { $0.phase == .running }.count == 2
                }
                let before = try await harness.containers()

                try await harness.store.redis.run("FLUSHALL")
                // The agent restarts too (its lease went with the data): it remembers nothing either.
                first.cancel()
                _ = await first.result
                _ = try await harness.runAgent()
                let other = try Manifest.parse(
                    Data(
                        #"{"deployment":{"key":"\#(harness.key)-other"},"agents":[{"id":"sleeper","image":"\#(PodmanService.testImage)","args":["sleep","600"]}],"policies":{"update":{"min_healthy_ms":0}}}"#
                            .utf8))
                _ = try await harness.store.apply(other, to: harness.node, at: .now())
                try await harness.eventually("the other deployment runs and the forgotten containers are reported kept") {
                    guard let report = try await harness.store.report(of: harness.node) else { return false }
                    return report.instances.contains { $0.id.key == other.key && $0.phase == .running }
                        && Set(report.kept.map(\.container)) == Set(before.map(\.id))
                }
                let kept = try await harness.store.report(of: harness.node)?.kept ?? []
                #expect(kept.allSatisfy { $0.deployment == v1.key && $0.instance?.key == v1.key })
                #expect(try await harness.containers().filter { $0.state == .running }.map(\.id).sorted() == before.map(\.id).sorted())

                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 applied again runs in the kept containers, none kept any more") {
                    guard let report = try await harness.store.report(of: harness.node) else { return false }
                    let serving = report.instances.filter { $0.id.key == v1.key && $0.phase == .running }.compactMap(\.container)
                    return report.kept.isEmpty && Set(serving) == Set(before.map(\.id))
                }
                #expect(try await harness.containers().filter { $0.labels[ContainerLabel.deploymentKey] == v1.key.rawValue }.map(\.id).sorted()
                    == before.map(\.id).sorted())
            }
        }

        @Test("the agent runs http, tcp and exec checks itself and reports healthy or unhealthy")
        func healthChecks() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let good = try harness.manifest(
                    "good",
                    checks: #"[{"kind":"http","port":8080,"path":"/","interval_ms":500,"timeout_ms":500},"#
                        + #"{"kind":"tcp","port":8080,"interval_ms":500,"timeout_ms":500},"#
                        + #"{"kind":"exec","command":["sh","-c","test -f /www/index.html"],"interval_ms":1000,"timeout_ms":1000}]"#)
                _ = try await harness.store.apply(good, to: harness.node, at: .now())
                try await harness.eventually("every check passes") {
                    try await harness.store.report(of: harness.node)?.instances.first?.health == .healthy
                }
                let bad = try harness.manifest(
                    "bad", checks: #"[{"kind":"http","port":8080,"path":"/missing","interval_ms":500,"timeout_ms":500}]"#)
                _ = try await harness.store.apply(bad, to: harness.node, at: .now())
                try await harness.eventually("the failing check is reported") {
                    let instance = try await harness.store.report(of: harness.node)?.instances.first { $0.version == 2 }
                    return instance?.health == .unhealthy
                }
            }
        }

        @Test("a version applied while the first never became healthy may take over the host port its container holds")
        func portOfAnUnsettledVersion() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let port = try #require((20_000..<40_000).shuffled().first { HostPorts.isFree(HostPort($0)) })
                let never = #"[{"kind":"http","port":8080,"path":"/missing","interval_ms":200,"timeout_ms":200}]"#
                let v1 = try harness.manifest("v1", checks: never, healthyDeadlineMs: 10_000, hostPort: port)
                let v2 = try harness.manifest("v2", checks: never, healthyDeadlineMs: 10_000, hostPort: port)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1's container runs, holding the port, never healthy") {
                    try await harness.containers().contains { $0.state == .running && $0.specHash == v1.instanceHash(of: v1.agents[0]) }
                }
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("v2 replaces v1 on its port") {
                    try await harness.containers().contains { $0.state == .running && $0.specHash == v2.instanceHash(of: v2.agents[0]) }
                }
                let record = try #require(try await harness.store.deployment(DeploymentKey(harness.key)))
                #expect(record.failure == nil, "v2 failed: \(record.failure?.reason ?? "")")
            }
        }

        @Test("pause: no actions until resume (a killed container stays down), then the agent acts again")
        func pauseAndResume() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let v1 = try harness.manifest("v1", restartDelayMs: 0)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                var id: ContainerID?
                try await harness.eventually("v1 runs") {
                    id = try await harness.runningReported(v1.instanceHash(of: v1.agents[0]))
                    return id != nil
                }
                let key = DeploymentKey(harness.key)
                try await harness.store.change(key, .pause, reason: "investigating", at: .now())
                let pausedAt = Timestamp.now()
                try await harness.eventually("the agent passed since the pause") {
                    (try await harness.store.nodes()[harness.node] ?? Timestamp(milliseconds: 0)) > pausedAt.adding(ms: 400)
                }
                #expect(try await harness.runningReported(v1.instanceHash(of: v1.agents[0])) == id, "paused: a running container is not reported as running")
                let podman = try #require(ChildProcess.find("podman"))
                #expect(
                    await (try ChildProcess(executable: podman, arguments: ["kill", "--signal", "KILL", try #require(id).rawValue])).exit()
                        == 0)
                let killedAt = Timestamp.now()
                // Two passes after the kill (the resync is 300 ms): the agent saw it and did nothing.
                try await harness.eventually("the agent passed twice since the kill") {
                    (try await harness.store.nodes()[harness.node] ?? Timestamp(milliseconds: 0)) > killedAt.adding(ms: 400)
                }
                #expect(try await harness.containers().map(\.state) == [.exited], "paused: the container is not restarted")
                let reported = try await harness.store.report(of: harness.node)?.instances.first
                #expect(reported?.phase == .failed(reason: "exited with code 137", retryAt: nil) && reported?.container == id, "\(String(describing: reported))")

                try await harness.store.change(key, .resume, reason: "go on", at: .now())
                try await harness.eventually("resumed: the container runs again") {
                    try await harness.containers().map(\.state) == [.running]
                }
            }
        }

        @Test("rolling v1 to v2, max_parallel 1: each new container starts before its old one stops, one batch at a time")
        func rollingUpdate() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let v1 = try harness.manifest("v1", count: 2)
                let v2 = try harness.manifest("v2", count: 2)
                let key = DeploymentKey(harness.key)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.store.deployment(key)?.status == .running }
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("v2 rolled out") {
                    let record = try await harness.store.deployment(key)
                    return record?.status == .running && record?.rollbackTarget == 2
                }
                let containers = try await harness.containers()
                #expect(
                    containers.count == 2
                        && containers.allSatisfy { $0.specHash == v2.instanceHash(of: v2.agents[0]) && $0.state == .running })

                let events = try await harness.podmanEvents()
                let (old, new) = (v1.instanceHash(of: v1.agents[0]).rawValue, v2.instanceHash(of: v2.agents[0]).rawValue)
                func first(_ action: String, _ instance: String, _ hash: String) -> Int64? {
                    events.first { $0.action == action && $0.instance == instance && $0.hash == hash }?.at
                }
                for index in ["0", "1"] {
                    let created = try #require(first("create", index, new))
                    let removed = try #require(first("remove", index, old))
                    #expect(created < removed, "instance \(index): the new container must start before the old one stops")
                }
                let secondBatch = try #require(first("create", "1", new))
                let firstBatch = try #require(first("create", "0", new))
                #expect(secondBatch - firstBatch >= 200_000_000, "the second batch waits for the first to be healthy for min_healthy_ms")
                #expect(try await harness.store.deployment(key)?.events.contains { $0.message == "version 2 rolled out" } == true)
            }
        }

        @Test("auto_revert: v2 never becomes healthy, the rollout fails at its deadline and v1's spec returns as version 3")
        func autoRevert() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                let good = #"[{"kind":"http","port":8080,"path":"/","interval_ms":200,"timeout_ms":150}]"#
                let bad = #"[{"kind":"http","port":8080,"path":"/missing","interval_ms":200,"timeout_ms":150}]"#
                let v1 = try harness.manifest("v1", checks: good, healthyDeadlineMs: 1_000, autoRevert: true)
                let v2 = try harness.manifest("v2", checks: bad, healthyDeadlineMs: 1_000, autoRevert: true)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.store.deployment(key)?.status == .running }
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("reverted") { try await harness.store.deployment(key)?.status == .rolledBack }
                let record = try #require(try await harness.store.deployment(key))
                #expect(record.versions.map(\.number) == [1, 2, 3], "history is appended, not rewritten")
                #expect(record.versions[2].manifest == record.versions[0].manifest)
                #expect(record.versions[2].isAutoRevert)
                #expect(record.rollbackTarget == 3)
                #expect(
                    record.events.contains { $0.message.hasPrefix("update failed: ") && $0.message.contains("healthy_deadline_ms") }
                )
                try await harness.eventually("only v1's spec runs") {
                    let all = try await harness.containers()
                    return all.count == 1 && all[0].specHash == v1.instanceHash(of: v1.agents[0]) && all[0].state == .running
                }
            }
        }

        @Test("blue-green v1 to v2: the whole new version runs beside the old as candidates until promote, then the old retires at once")
        func blueGreenPromote() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                let v1 = try harness.manifest("v1", count: 2, blueGreen: true)
                let v2 = try harness.manifest("v2", count: 2, blueGreen: true)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.store.deployment(key)?.status == .running }
                var refused = false
                do { try await harness.store.promote(key, at: .now()) } catch { refused = true }
                #expect(refused, "nothing to promote before an update")
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("the new version is healthy and waits for promotion") {
                    try await harness.store.deployment(key)?.rollout?.awaitingPromotion == true
                }
                let waiting = try await harness.containers().filter { $0.state == .running }
                let old = v1.instanceHash(of: v1.agents[0])
                let new = v2.instanceHash(of: v2.agents[0])
                #expect(waiting.filter { $0.specHash == old }.count == 2, "the old version keeps serving")
                #expect(waiting.filter { $0.specHash == new }.map { $0.labels[ContainerLabel.role] } == ["candidate", "candidate"])
                let record = try #require(try await harness.store.deployment(key))
                #expect(record.status == .deploying && record.rollout?.strategy == .blueGreen && record.rollout?.deadline == nil)
                let counts = record.health.first { $0.version == 2 }
                #expect(counts?.desired == 2 && counts?.healthy == 2, "per-version counts: \(record.health)")

                try await harness.store.promote(key, at: .now())
                try await harness.eventually("v2 is primary and v1 retired") {
                    let all = try await harness.containers()
                    let record = try await harness.store.deployment(key)
                    return record?.status == .running && record?.rollbackTarget == 2 && all.count == 2
                        && all.allSatisfy { $0.specHash == new }
                }
                #expect(try await harness.store.deployment(key)?.events.contains { $0.message == "version 2 promoted to primary" } == true)
            }
        }

        @Test("an image missing on the node: the version fails in Validating with the reason, nothing of it starts, the old keeps running")
        func missingImageFailsValidation() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                let v1 = try harness.manifest("v1")
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.store.deployment(key)?.status == .running }
                let before = try await harness.containers()
                let v2 = try harness.manifest("v2", image: ContainerRuntimeContract.absentImage)
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("validation failed") { try await harness.store.deployment(key)?.status == .failed }
                let record = try #require(try await harness.store.deployment(key))
                #expect(record.failure?.phase == .validating && record.failure?.version == 2)
                #expect(record.failure?.reason.contains("image '\(ContainerRuntimeContract.absentImage)' is not on node") == true)
                let after = try await harness.containers()
                #expect(
                    after.map(\.id) == before.map(\.id) && after.allSatisfy { $0.state == .running }, "v1 untouched, nothing of v2 created")
                // Once validation failed, resume checks again (still failing here) instead of refusing.
                #expect(try await harness.store.change(key, .resume, reason: "image pulled", at: .now()) == .validating)
                try await harness.eventually("validated again, failing again") {
                    try await harness.store.deployment(key)?.status == .failed
                }
            }
        }

        @Test("batch: a run completes and is kept; a rerun runs the same version in a fresh container; a new version is a new run")
        func batchRuns() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                func batch(_ day: String) throws -> Manifest {
                    try Manifest.parse(
                        Data(
                            """
                            {"deployment":{"key":"\(harness.key)"},"type":"batch","agents":[{"id":"job","image":"\(PodmanService.testImage)",
                             "args":["sh","-c","echo $DAY"],"env":{"DAY":"\(day)"},"lifecycle":{"grace_period_ms":1000}}]}
                            """.utf8))
                }
                func finishedRuns() async throws -> [String] {
                    try await harness.store.deployment(key)?.runs.compactMap { $0.outcome?.description } ?? []
                }
                _ = try await harness.store.apply(try batch("mon"), to: harness.node, at: .now())
                try await harness.eventually("run 1 complete") { try await finishedRuns() == ["complete"] }
                #expect(try await harness.store.deployment(key)?.status == .running)
                try await harness.eventually("the finished run's container is cleaned up") { try await harness.containers().isEmpty }

                let rerun = try await harness.store.rerun(key, pin: .node(harness.node), at: .now()).run
                #expect(rerun.number == 2 && rerun.version == 1)
                try await harness.eventually("run 2 complete") { try await finishedRuns() == ["complete", "complete"] }

                _ = try await harness.store.apply(try batch("tue"), to: harness.node, at: .now())
                try await harness.eventually("run 3, of version 2, complete") { try await finishedRuns().count == 3 }
                let record = try #require(try await harness.store.deployment(key))
                #expect(record.runs.map(\.version) == [1, 1, 2])
                #expect(record.runs.allSatisfy { $0.outcome == .complete })
                #expect(record.versions.count == 2, "reruns add runs, not versions")
            }
        }

        @Test("a host port another process holds: the version fails in Validating, naming the port, and nothing starts")
        func foreignPortFailsValidation() async throws {
            try await AgentHarness.with { harness in
                // A listening socket outside mn, on a port the kernel picks.
                let holder = try #require(PortHolder())
                defer { holder.close() }
                let port = holder.port

                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                let manifest = try Manifest.parse(
                    Data(
                        """
                        {"deployment":{"key":"\(harness.key)"},"agents":[{"id":"httpd","image":"\(PodmanService.testImage)",
                         "args":["httpd","-f","-p","8080"],"ports":[{"name":"http","container_port":8080,"host_port":\(port)}]}]}
                        """.utf8))
                _ = try await harness.store.apply(manifest, to: harness.node, at: .now())
                try await harness.eventually("validation failed") { try await harness.store.deployment(key)?.status == .failed }
                let reason = try #require(try await harness.store.deployment(key)?.failure?.reason)
                #expect(reason.contains("host port \(port)/tcp, which a process mn does not manage holds"))
                #expect(try await harness.containers().isEmpty, "nothing was created")
            }
        }

        @Test("canary v1 to v2: one canary beside the old until promote, then the rest follows and the old retires")
        func canaryPromote() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let key = DeploymentKey(harness.key)
                let v1 = try harness.manifest("v1", count: 2)
                let v2 = try harness.manifest("v2", count: 2, canary: 1)
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") { try await harness.store.deployment(key)?.status == .running }
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("the canary is healthy and waits") {
                    try await harness.store.deployment(key)?.rollout?.done.contains("httpd/0") == true
                }
                let waiting = try await harness.containers()
                #expect(waiting.filter { $0.specHash == v1.instanceHash(of: v1.agents[0]) }.count == 2, "both old instances still run")
                #expect(
                    waiting.filter { $0.specHash == v2.instanceHash(of: v2.agents[0]) }.map { $0.labels[ContainerLabel.role] } == ["canary"]
                )
                #expect(try await harness.store.deployment(key)?.status == .deploying)

                try await harness.store.promote(key, at: .now())
                try await harness.eventually("v2 rolled out") {
                    let record = try await harness.store.deployment(key)
                    return record?.status == .running && record?.rollbackTarget == 2
                }
                try await harness.eventually("only v2 runs") {
                    let all = try await harness.containers()
                    return all.count == 2 && all.allSatisfy { $0.specHash == v2.instanceHash(of: v2.agents[0]) && $0.state == .running }
                }
            }
        }

        @Test("Redis restarted mid-run: the agent reconnects and leaves containers alone")
        func redisRestart() async throws {
            try await AgentHarness.with { harness in
                _ = try await harness.runAgent()
                let v1 = try harness.manifest("v1")
                _ = try await harness.store.apply(v1, to: harness.node, at: .now())
                try await harness.eventually("v1 runs") {
                    try await harness.runningReported(v1.instanceHash(of: v1.agents[0])) != nil
                }
                let before = try await harness.containers()

                try await harness.redis.restart()
                let restartedAt = Timestamp.now()
                try await harness.eventually("the agent passes (and reports) again after the restart") {
                    let lastPass = try? await harness.store.nodes()[harness.node]
                    let report = try? await harness.store.report(of: harness.node)
                    return report != nil && (lastPass ?? Timestamp(milliseconds: 0)) > restartedAt
                }
                let after = try await harness.containers()
                #expect(after.map(\.id) == before.map(\.id))
                #expect(after.map(\.startedAt) == before.map(\.startedAt))

                // And it still acts on changes published after the restart.
                let v2 = try harness.manifest("v2")
                _ = try await harness.store.apply(v2, to: harness.node, at: .now())
                try await harness.eventually("v2 runs") {
                    try await harness.runningReported(v2.instanceHash(of: v2.agents[0])) != nil
                }
            }
        }
    }
}
