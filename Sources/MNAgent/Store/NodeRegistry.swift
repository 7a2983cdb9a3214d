import Foundation
public import MNCore

/// The node registry in Redis: what each agent registered about its host, whether it still
/// heartbeats, and what operators decided about it (eligibility, drains).
///
/// A node is *ready* while its alive key (set with the heartbeat TTL) exists, *down* once it
/// expired: Redis's clock decides, so hosts with different clocks agree.
public struct NodeRegistry: Sendable {
    public let redis: RedisClient

    /// Uses `redis` for every read and write.
    public init(redis: RedisClient) { self.redis = redis }

    /// A registered node as the registry sees it now.
    public struct Entry: Hashable, Sendable, Codable {
        /// What its agent registered, with the operators' decisions applied: not ``NodeInfo/eligible``
        /// when made ineligible or draining, ``NodeInfo/draining`` while a drain lasts.
        public var info: NodeInfo
        /// Whether its heartbeat is current.
        public var ready: Bool
        /// What operators decided about it.
        public var administration: NodeAdministration
        /// When its heartbeat expires (ready) or expired (down), on Redis's clock; `nil` for a
        /// registration from before this was kept.
        public var expires: Timestamp?

        /// Creates an entry.
        public init(info: NodeInfo, ready: Bool, administration: NodeAdministration = .none, expires: Timestamp? = nil) {
            self.info = info
            self.ready = ready
            self.administration = administration
            self.expires = expires
            self.info.eligible = info.eligible && administration.eligible && administration.drain == nil
            self.info.draining = info.draining || administration.drain != nil
        }
    }

    /// Registers (or updates) `info` and marks the node alive for `ttl`, in one transaction,
    /// and tells the controller (a node that joins may be what a waiting deployment needs).
    public func register(_ info: NodeInfo, ttl: Duration) async throws {
        try await redis.atomically([
            ["SADD", StoreKeys.registry, info.id.rawValue],
            ["SET", StoreKeys.nodeInfo(info.id), try DeploymentStore.encode(info)],
            Self.alive(info.id, ttl: ttl),
            ["PUBLISH", StoreKeys.reported, info.id.rawValue],
        ])
    }

    /// Sets the alive key for `ttl` and records when it expires, on Redis's clock.
    private static let aliveScript = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
        redis.call('SET', KEYS[2], tostring(now + tonumber(ARGV[1])))
        return 1
        """

    private static func alive(_ node: NodeID, ttl: Duration) -> [String] {
        ["EVAL", aliveScript, "2", StoreKeys.nodeAlive(node), StoreKeys.nodeExpires(node), String(ttl.milliseconds)]
    }

    /// Marks `node` alive for another `ttl`. Returns `false` when its registration is gone
    /// (Redis lost it), so the caller registers again.
    public func heartbeat(_ node: NodeID, ttl: Duration) async throws -> Bool {
        try await redis.run(Self.alive(node, ttl: ttl))
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
        let administrations = try await redis.run(["MGET"] + ids.map(StoreKeys.nodeAdministration)).array ?? []
        let expiries = try await redis.run(["MGET"] + ids.map(StoreKeys.nodeExpires)).array ?? []
        var entries: [Entry] = []
        for (index, id) in ids.enumerated() {
            guard index < infos.count, let bytes = infos[index].bytes else { continue }
            do {
                let info = try JSONDecoder().decode(NodeInfo.self, from: Data(bytes))
                let administration = try index < administrations.count ? Self.administration(administrations[index], of: id) : .none
                let expires = index < expiries.count ? expiries[index].string.flatMap(Int64.init).map(Timestamp.init(milliseconds:)) : nil
                entries.append(
                    Entry(info: info, ready: index < alive.count && alive[index] != .null, administration: administration, expires: expires))
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError("the registration of node '\(id)' in Redis is unreadable: \(error)")
            }
        }
        return entries
    }

    /// Why ``administer(_:_:)`` refused a change.
    public struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Changes what operators decided about `node` with `change` (in a transaction, retried if
    /// it changed meanwhile), tells the controller, and returns the new state.
    /// - Throws: ``StoreError`` when no node `node` is registered; whatever `change` throws
    ///   (a ``Refusal``) when the change does not apply, and then nothing is written.
    @discardableResult
    public func administer(
        _ node: NodeID, _ change: @Sendable @escaping (inout NodeAdministration) throws -> Void
    ) async throws -> NodeAdministration {
        let key = StoreKeys.nodeAdministration(node)
        return try await redis.transaction(watching: [key], reads: [["EXISTS", StoreKeys.nodeInfo(node)], ["GET", key]]) { replies in
            guard replies[0] == .integer(1) else {
                throw StoreError("no node '\(node)' is registered (mnctl node list shows the nodes)")
            }
            var administration = try Self.administration(replies[1], of: node)
            let before = administration
            try change(&administration)
            guard administration != before else { return .skip(administration) }
            return .write(
                [["SET", key, try DeploymentStore.encode(administration)], ["PUBLISH", StoreKeys.reported, node.rawValue]], administration)
        }
    }

    /// The administration in a `GET` reply (none stored: ``MNCore/NodeAdministration/none``).
    private static func administration(_ reply: RedisReply, of node: NodeID) throws -> NodeAdministration {
        guard let bytes = reply.bytes else { return .none }
        do {
            return try JSONDecoder().decode(NodeAdministration.self, from: Data(bytes))
        } catch {
            throw StoreError("what operators decided about node '\(node)' is unreadable in Redis (\(error)); fix or delete \(StoreKeys.nodeAdministration(node))")
        }
    }
}
