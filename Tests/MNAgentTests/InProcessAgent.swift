import Logging
import MNCore
import MNReconcile
import MNTestSupport

@testable import MNAgent

/// An agent on the fake runtime, driven pass by pass by a test, logging only what is critical;
/// `afterActing` injects a fault between acting and recording.
func quietAgent(
    _ store: DeploymentStore, _ runtime: FakeContainerRuntime, node: NodeID = "n1",
    afterActing: (@Sendable (NodePlan) async throws -> Void)? = nil
) -> NodeAgent<FakeContainerRuntime> {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return NodeAgent(
        store: store, runtime: runtime, settings: .init(node: node), logger: logger, prober: nil, notifier: SystemdNotifier(),
        afterActing: afterActing)
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
