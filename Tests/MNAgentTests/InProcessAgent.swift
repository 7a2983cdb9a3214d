import Logging
import MNCore
import MNReconcile
import MNTestSupport

@testable import MNAgent

/// An agent on the fake runtime, driven pass by pass by a test, logging only what is critical;
/// `afterActing` injects a fault between acting and recording; `resyncIntervalMs` paces its
/// idle writes (see ``NodeAgent/Settings``). Its node is registered (large,
/// for an hour) and it is the cluster controller (it takes the lease over from any holder):
/// a one-node cluster, as a single host runs. With `leading` false it is a follower.
func quietAgent(
    _ store: DeploymentStore, _ runtime: FakeContainerRuntime, node: NodeID = "n1", leading: Bool = true, resyncIntervalMs: Int64 = 10_000,
    afterActing: (@Sendable (NodePlan) async throws -> Void)? = nil
) async throws -> NodeAgent<FakeContainerRuntime> {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    try await register(node, in: store)
    let role: NodeAgent<FakeContainerRuntime>.ControllerRole? = leading ? try await controllerRole(store, node: node, logger: logger) : nil
    return NodeAgent(
        store: store, runtime: runtime, settings: .init(node: node, resyncIntervalMs: resyncIntervalMs), logger: logger, prober: nil, controller: role,
        notifier: SystemdNotifier(), afterActing: afterActing)
}

/// The controller role of `node`'s agent, holding the lease for an hour (taken over from any holder).
func controllerRole<Runtime: ContainerRuntime>(_ store: DeploymentStore, node: NodeID, logger: Logger) async throws
    -> NodeAgent<Runtime>.ControllerRole
{
    let lease = LeaderLease(redis: store.redis, node: node, ttl: .seconds(3_600))
    guard case .acquired(let term) = try await lease.acquire(replacing: try await LeaderLease.holder(in: store.redis)) else {
        throw StoreError("the test agent could not take the controller lease")
    }
    return .init(controller: ClusterController(store: store, lease: lease, logger: logger), term: { term })
}

/// Registers `node` (8 cores, 16 GB) as ready for an hour.
func register(_ node: NodeID, in store: DeploymentStore) async throws {
    try await NodeRegistry(redis: store.redis).register(
        NodeInfo(id: node, hostname: node.rawValue, capacity: NodeCapacity(cpuMillis: 8_000, memoryMB: 16_384)), ttl: .seconds(3_600))
}

/// Calls per Redis command since the last `CONFIG RESETSTAT`, from `INFO commandstats`
/// (`cmdstat_hset:calls=1,usec=3,…` → `["hset": 1]`).
func commandCalls(_ redis: RedisClient) async throws -> [String: Int] {
    let text = try await redis.run("INFO", "commandstats").string ?? ""
    var calls: [String: Int] = [:]
    for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
        let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let field = parts[1].split(separator: ",").first, field.hasPrefix("calls="),
            let count = Int(field.dropFirst("calls=".count))
        else { continue }
        calls[String(parts[0])] = count
    }
    return calls
}
