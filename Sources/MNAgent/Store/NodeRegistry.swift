import Foundation
public import MNCore

/// The node registry in Redis: what each agent registered about its host, and whether it
/// still heartbeats.
///
/// A node is *ready* while its alive key (set with the heartbeat TTL) exists, *down* once it
/// expired: Redis's clock decides, so hosts with different clocks agree.
public struct NodeRegistry: Sendable {
    public let redis: RedisClient

    /// Uses `redis` for every read and write.
    public init(redis: RedisClient) { self.redis = redis }

    /// A registered node as the registry sees it now.
    public struct Entry: Hashable, Sendable, Codable {
        public var info: NodeInfo
        /// Whether its heartbeat is current.
        public var ready: Bool

        /// Creates an entry.
        public init(info: NodeInfo, ready: Bool) {
            self.info = info
            self.ready = ready
        }
    }

    /// Registers (or updates) `info` and marks the node alive for `ttl`, in one transaction,
    /// and tells the controller (a node that joins may be what a waiting deployment needs).
    public func register(_ info: NodeInfo, ttl: Duration) async throws {
        try await redis.atomically([
            ["SADD", StoreKeys.registry, info.id.rawValue],
            ["SET", StoreKeys.nodeInfo(info.id), try DeploymentStore.encode(info)],
            ["SET", StoreKeys.nodeAlive(info.id), "1", "PX", String(ttl.milliseconds)],
            ["PUBLISH", StoreKeys.reported, info.id.rawValue],
        ])
    }

    /// Marks `node` alive for another `ttl`. Returns `false` when its registration is gone
    /// (Redis lost it), so the caller registers again.
    public func heartbeat(_ node: NodeID, ttl: Duration) async throws -> Bool {
        try await redis.run("SET", StoreKeys.nodeAlive(node), "1", "PX", String(ttl.milliseconds))
        return try await redis.run("EXISTS", StoreKeys.nodeInfo(node)) == .integer(1)
    }

    /// Whether `node` heartbeats now; `nil` when it never registered.
    public func isReady(_ node: NodeID) async throws -> Bool? {
        guard try await redis.run("EXISTS", StoreKeys.nodeInfo(node)) == .integer(1) else { return nil }
        return try await redis.run("EXISTS", StoreKeys.nodeAlive(node)) == .integer(1)
    }

    /// Every registered node, by id.
    public func entries() async throws -> [Entry] {
        let ids = (try await redis.run("SMEMBERS", StoreKeys.registry).array ?? []).compactMap(\.string).sorted().map(NodeID.init)
        guard !ids.isEmpty else { return [] }
        let infos = try await redis.run(["MGET"] + ids.map(StoreKeys.nodeInfo)).array ?? []
        let alive = try await redis.run(["MGET"] + ids.map(StoreKeys.nodeAlive)).array ?? []
        var entries: [Entry] = []
        for (index, id) in ids.enumerated() {
            guard index < infos.count, let bytes = infos[index].bytes else { continue }
            do {
                let info = try JSONDecoder().decode(NodeInfo.self, from: Data(bytes))
                entries.append(Entry(info: info, ready: index < alive.count && alive[index] != .null))
            } catch {
                throw StoreError("the registration of node '\(id)' in Redis is unreadable: \(error)")
            }
        }
        return entries
    }
}
