// The cluster at fleet size, in one process: N simulated nodes (NodeAgent on a fake runtime
// each, no controller role) and one ClusterController, against one real redis-server.
// A service of N × M instances (one agent, no resources) is placed and run; then a rolling
// update of every instance with max_parallel P. Passes are driven in rounds (the controller,
// then every node), as the agents' loops would run them, so each pass can be timed and its
// Redis commands counted (INFO commandstats, reset before the pass).
// Prints figures; asserts nothing. Usage: cluster [NODES [PER-NODE [MAX-PARALLEL]]]
import Foundation
import Logging
import MNAgent
import MNCore
import MNReconcile
import MNTestSupport

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let nodeCount = arguments.count > 0 ? arguments[0] : 100
let perNode = arguments.count > 1 ? arguments[1] : 100
let maxParallel = arguments.count > 2 ? arguments[2] : 100
let total = nodeCount * perNode

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// Calls per command since the last CONFIG RESETSTAT, without the measuring commands themselves.
func commands(_ redis: RedisClient) async throws -> (total: Int, byCommand: String) {
    let text = try await redis.run("INFO", "commandstats").string ?? ""
    var calls: [(String, Int)] = []
    for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
        let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let field = parts[1].split(separator: ",").first, field.hasPrefix("calls="),
            let count = Int(field.dropFirst("calls=".count))
        else { continue }
        let name = String(parts[0])
        if name.hasPrefix("config") || name == "info" { continue }
        calls.append((name, count))
    }
    calls.sort { $0.0 < $1.0 }
    return (calls.map(\.1).reduce(0, +), calls.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
}

func manifest(_ greeting: String) -> Manifest {
    var policies = Policies.defaults
    policies.update.maxParallel = maxParallel
    policies.update.minHealthyMs = 0
    policies.update.healthyDeadlineMs = 600_000
    policies.update.progressDeadlineMs = 600_000
    // A manifest's agent runs at most 10,000 instances: a larger fleet is several agents.
    let agents = stride(from: 0, to: total, by: 10_000).map { first in
        AgentSpec(
            id: AgentID(total > 10_000 ? "worker-\(first / 10_000)" : "worker"), count: min(10_000, total - first),
            workload: .image("fleet:1"), env: ["GREETING": greeting])
    }
    return Manifest(key: "fleet", agents: agents, policies: policies)
}

do {
    try await RedisServer.with { server in
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let admin = RedisClient(url: server.url)
        let store = DeploymentStore(redis: admin)
        let lease = LeaderLease(redis: admin, node: "controller", ttl: .seconds(3_600))
        guard case .acquired(let term) = try await lease.acquire() else { fatalError("no lease") }
        let controller = ClusterController(store: store, lease: lease, logger: logger)

        var agents: [NodeAgent<FakeContainerRuntime>] = []
        var runtimes: [FakeContainerRuntime] = []
        for index in 0..<nodeCount {
            let node = NodeID(String(format: "node-%03d", index))
            let client = RedisClient(url: server.url)
            let nodeStore = DeploymentStore(redis: client)
            try await NodeRegistry(redis: client).register(
                NodeInfo(id: node, hostname: node.rawValue, capacity: NodeCapacity(cpuMillis: 16_000, memoryMB: 65_536)),
                ttl: .seconds(3_600))
            let runtime = FakeContainerRuntime()
            runtimes.append(runtime)
            agents.append(NodeAgent(store: nodeStore, runtime: runtime, settings: .init(node: node), logger: logger))
        }

        var controllerMs: [Double] = []
        var nodeMs: [Double] = []
        /// One round: the controller's pass, then every node's.
        func round() async throws {
            let start = ContinuousClock.now
            _ = try await controller.pass(under: term, at: .now())
            controllerMs.append(milliseconds(ContinuousClock.now - start))
            if controllerMs.count % 10 == 1 {
                FileHandle.standardError.write(Data("controller pass \(controllerMs.count): \(Int(controllerMs.last!)) ms\n".utf8))
            }
            for agent in agents {
                let nodeStart = ContinuousClock.now
                _ = try await agent.pass()
                nodeMs.append(milliseconds(ContinuousClock.now - nodeStart))
            }
        }
        /// Redis commands of one controller pass and of one node's pass, measured on their own.
        func measuredPasses() async throws -> (controller: (Int, String), node: (Int, String)) {
            try await admin.run("CONFIG", "RESETSTAT")
            _ = try await controller.pass(under: term, at: .now())
            let ofController = try await commands(admin)
            try await admin.run("CONFIG", "RESETSTAT")
            _ = try await agents[nodeCount / 2].pass()
            let ofNode = try await commands(admin)
            return (ofController, ofNode)
        }
        func status() async throws -> (DeploymentStatus, Int) {
            let record = try await store.deployment("fleet")
            return (record?.status ?? .validating, record?.rollbackTarget ?? 0)
        }

        print(
            "# \(nodeCount) nodes × \(perNode) instances = \(total); rolling update with max_parallel \(maxParallel); fake runtimes, one redis-server"
        )
        let placeStart = ContinuousClock.now
        _ = try await store.apply(manifest("v1"), pin: .keep, at: .now())
        var rounds = 0
        while try await status() != (.running, 1) {
            try await round()
            rounds += 1
            guard rounds < 1_000 else { fatalError("v1 never ran") }
        }
        let placeMs = milliseconds(ContinuousClock.now - placeStart)
        var perNodeCount: [Int] = []
        for runtime in runtimes { perNodeCount.append(try await runtime.listManaged().count) }
        print(
            "placement of v1: \(rounds) rounds, \(String(format: "%.0f", placeMs)) ms; instances per node min \(perNodeCount.min()!) max \(perNodeCount.max()!)"
        )
        try await round()  // settle the reports
        let idle = try await measuredPasses()
        print("idle: controller pass \(idle.controller.0) commands (\(idle.controller.1)); node pass \(idle.node.0) (\(idle.node.1))")

        controllerMs = []
        nodeMs = []
        let rolloutStart = ContinuousClock.now
        _ = try await store.apply(manifest("v2"), pin: .keep, at: .now())
        rounds = 0
        var midRollout: (controller: (Int, String), node: (Int, String))?
        while try await status() != (.running, 2) {
            try await round()
            rounds += 1
            if midRollout == nil, rounds == max(2, total / maxParallel / 2) { midRollout = try await measuredPasses() }
            guard rounds < 10_000 else { fatalError("the update never finished") }
        }
        let rolloutMs = milliseconds(ContinuousClock.now - rolloutStart)
        var left = 0
        let target = manifest("v2")
        let newHashes = Set(target.agents.map { target.instanceHash(of: $0) })
        for runtime in runtimes { left += try await runtime.listManaged().filter { !($0.specHash.map(newHashes.contains) ?? false) }.count }
        let transitions = 2 * total  // every instance: a new one started, the old one stopped
        print(
            "rolling update: \(rounds) rounds, \(String(format: "%.1f", rolloutMs / 1_000)) s, \(String(format: "%.0f", Double(transitions) / (rolloutMs / 1_000))) instance transitions/s (\(transitions) starts and stops); old containers left: \(left)"
        )
        print(
            "controller pass: p50 \(String(format: "%.1f", percentile(controllerMs, 0.5))) ms, p99 \(String(format: "%.1f", percentile(controllerMs, 0.99))) ms (\(controllerMs.count) passes)"
        )
        print(
            "node pass: p50 \(String(format: "%.2f", percentile(nodeMs, 0.5))) ms, p99 \(String(format: "%.2f", percentile(nodeMs, 0.99))) ms (\(nodeMs.count) passes)"
        )
        if let midRollout {
            print(
                "mid-rollout: controller pass \(midRollout.controller.0) commands (\(midRollout.controller.1)); node pass \(midRollout.node.0) (\(midRollout.node.1))"
            )
        }
        await admin.close()
    }
} catch {
    // A thrown error would end the process with a backtrace and no message.
    FileHandle.standardError.write(Data("cluster benchmark failed: \(error)\n".utf8))
    exit(1)
}
