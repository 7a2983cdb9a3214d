public import Logging
public import MNCore
public import ServiceLifecycle

/// Registers this node in the registry and heartbeats every third of the TTL, re-registering
/// if Redis lost the registration. Failures are logged and retried; they never stop the agent.
public final class NodeHeartbeat: Service, Sendable {
    public let registry: NodeRegistry
    public let info: NodeInfo
    public let ttl: Duration
    private let logger: Logger

    /// Heartbeats `info` into `registry`.
    public init(registry: NodeRegistry, info: NodeInfo, ttl: Duration, logger: Logger) {
        self.registry = registry
        self.info = info
        self.ttl = ttl
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.beat() }
    }

    private func beat() async {
        var registered = false
        var failing = false
        while !Task.isCancelled {
            do {
                if !registered {
                    try await registry.register(info, ttl: ttl)
                    logger.info(
                        "registered node", metadata: ["node": "\(info.id)", "address": "\(info.address)", "cpu_millis": "\(info.capacity.cpuMillis)",
                            "memory_mb": "\(info.capacity.memoryMB)", "devices": "\(info.devices.count)"])
                    registered = true
                } else {
                    registered = try await registry.heartbeat(info.id, ttl: ttl)
                    if !registered { continue }
                }
                if failing { logger.notice("heartbeats reach Redis again") }
                failing = false
            } catch {
                if !failing { logger.warning("cannot heartbeat; other nodes will see this one as down", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: ttl / 3)
        }
    }
}
