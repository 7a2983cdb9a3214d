import Foundation
public import MNCore
import Synchronization

/// The cluster controller's lease in Redis: one holder at a time, each acquisition numbered
/// by a fencing epoch, every controller write refused unless its lease is still current.
///
/// The lease is one key (``StoreKeys/leader``) set with a TTL; the epoch counter
/// (``StoreKeys/leaderEpoch``) grows by one on every acquisition and is never reset. Each
/// operation is a Lua script, so the check and the change are one step on the server: a
/// controller that paused (GC, SIGSTOP, a partition) past its TTL and wakes up finds its
/// lease gone and writes nothing, even if no one else took the lease yet.
///
/// The epoch never goes backwards, even when a Redis failover loses the last increments
/// (replication is asynchronous): each acquisition asks for an epoch above the highest this
/// process has seen, and under Sentinel it waits (briefly) for a replica to hold the new one.
public struct LeaderLease: Sendable {
    /// One holding of the lease.
    public struct Term: Hashable, Sendable, Codable, CustomStringConvertible {
        /// Grows by one with every acquisition, by anyone.
        public var epoch: Int64
        /// The node whose agent holds it.
        public var node: NodeID
        /// Tells two processes of one node apart (a restarted agent is a new holder).
        public var token: String
        /// The exact value stored in Redis: what fenced scripts compare.
        public var value: String

        public var description: String { "\(node) (epoch \(epoch))" }

        /// Reads a stored lease value (`nil` when it is not one).
        init?(value: String) {
            struct Stored: Decodable {
                let epoch: Int64
                let node: String
                let token: String
            }
            guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(value.utf8)) else { return nil }
            self.epoch = stored.epoch
            self.node = NodeID(stored.node)
            self.token = stored.token
            self.value = value
        }
    }

    /// What ``acquire(replacing:)`` found.
    public enum Acquisition: Hashable, Sendable {
        /// This agent holds the lease now, under a new epoch.
        case acquired(Term)
        /// Someone else holds it.
        case heldBy(Term?)
    }

    /// Why a fenced write was refused.
    public struct Fenced: Error, Hashable, Sendable, CustomStringConvertible {
        public var term: Term
        public var description: String {
            "the controller lease of \(term) is no longer held; the write was refused (another agent leads, or will)"
        }
    }

    public let redis: RedisClient
    public let node: NodeID
    /// Unique to this process.
    public let token: String
    /// How long a lease lasts without renewal.
    public let ttl: Duration
    /// The highest epoch this process has seen, in any term (its own or another's).
    private let highestSeen = HighestEpoch()

    /// A lease for the agent of `node`; `token` defaults to a fresh random one.
    public init(redis: RedisClient, node: NodeID, token: String = UUID().uuidString, ttl: Duration) {
        self.redis = redis
        self.node = node
        self.token = token
        self.ttl = ttl
    }

    /// Takes the lease if no one holds it, or if `previous` (this process's own last term)
    /// still does: either way under a new epoch, which fences every write of older terms.
    public func acquire(replacing previous: Term? = nil) async throws -> Acquisition {
        let reply = try await redis.run(
            "EVAL", Self.acquireScript, "2", StoreKeys.leader, StoreKeys.leaderEpoch, node.rawValue, token, String(ttl.milliseconds),
            previous?.value ?? "", String(highestSeen.value + 1))
        guard let items = reply.array, items.count == 2, case .integer(let epoch) = items[0], let value = items[1].string else {
            throw RedisError("unexpected reply to the lease script: \(reply)")
        }
        if epoch == 0 {
            let holder = Term(value: value)
            if let holder { highestSeen.raise(to: holder.epoch) }
            return .heldBy(holder)
        }
        guard let term = Term(value: value) else { throw RedisError("the lease script stored an unreadable value: \(value)") }
        highestSeen.raise(to: term.epoch)
        if redis.url.isSentinel {
            // Best effort: a failover that promotes a replica holding the new epoch keeps it.
            // If none acknowledges in time the term still stands; the floor above keeps the
            // epoch from going backwards as long as any agent saw it.
            _ = try? await redis.run("WAIT", "1", String(min(1_000, ttl.milliseconds / 4)))
        }
        return .acquired(term)
    }

    /// Extends `term` by the TTL; `false` when it is no longer held (it expired or was taken).
    public func renew(_ term: Term) async throws -> Bool {
        try await redis.run("EVAL", Self.renewScript, "1", StoreKeys.leader, term.value, String(ttl.milliseconds)) == .integer(1)
    }

    /// Gives `term` up at once (on shutdown), so another agent takes over without waiting for the TTL.
    public func release(_ term: Term) async throws {
        try await redis.run("EVAL", Self.releaseScript, "1", StoreKeys.leader, term.value)
    }

    /// Why a guarded write was refused: a key it depends on changed since it was read.
    public struct Conflict: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String { "a record changed since the controller read it; the write was dropped and is decided again" }
    }

    /// Runs `commands` atomically if and only if `term` still holds the lease and each key in
    /// `unchanged` still holds exactly its value.
    ///
    /// - Throws: ``Fenced`` when the lease is not held, ``Conflict`` when a guarded key changed
    ///   (either way nothing was written); ``RedisError`` otherwise.
    public func write(_ commands: [[String]], under term: Term, unchanged: [(key: String, value: String)] = []) async throws {
        var arguments = ["EVAL", Self.fencedScript, "1", StoreKeys.leader, term.value, String(unchanged.count)]
        for (key, value) in unchanged { arguments += [key, value] }
        for command in commands {
            arguments.append(String(command.count))
            arguments += command
        }
        do {
            try await redis.run(arguments)
        } catch {
            // `redis.run` throws RedisError only; the script's refusal is one with the marker.
            if error.description.contains(Self.fencedMarker) { throw Fenced(term: term) }
            if error.description.contains(Self.conflictMarker) { throw Conflict() }
            throw error
        }
    }

    /// Who holds the lease now, if anyone.
    public static func holder(in redis: RedisClient) async throws -> Term? {
        try await redis.run("GET", StoreKeys.leader).string.flatMap(Term.init(value:))
    }

    // The scripts. Values are compared whole: a term's value names its epoch, node and token.

    private static let fencedMarker = "MNFENCED"
    private static let conflictMarker = "MNCONFLICT"

    /// KEYS: lease, epoch counter. ARGV: node, token, ttl ms, the caller's previous value or "",
    /// the lowest epoch the caller accepts. Returns {epoch, value} when acquired, {0, current
    /// value} when held by someone else.
    private static let acquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current and current ~= ARGV[4] then return {0, current} end
        local epoch = redis.call('INCR', KEYS[2])
        if epoch < tonumber(ARGV[5]) then
          epoch = tonumber(ARGV[5])
          redis.call('SET', KEYS[2], epoch)
        end
        local value = cjson.encode({epoch = epoch, node = ARGV[1], token = ARGV[2]})
        redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
        return {epoch, value}
        """

    /// KEYS: lease. ARGV: value, ttl ms.
    private static let renewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        return 0
        """

    /// KEYS: lease. ARGV: value.
    private static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
        return 0
        """

    /// KEYS: lease. ARGV: value, the number of guards, each guard's key and value, then for
    /// each command its argument count and its arguments.
    private static let fencedScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return redis.error_reply('\(fencedMarker) the controller lease is no longer held by this term')
        end
        local guards = tonumber(ARGV[2])
        for g = 0, guards - 1 do
          if redis.call('GET', ARGV[3 + 2 * g]) ~= ARGV[4 + 2 * g] then
            return redis.error_reply('\(conflictMarker) ' .. ARGV[3 + 2 * g] .. ' changed')
          end
        end
        local i = 3 + 2 * guards
        while i <= #ARGV do
          local n = tonumber(ARGV[i])
          redis.call(unpack(ARGV, i + 1, i + n))
          i = i + n + 1
        end
        return 'OK'
        """
}

/// The highest epoch a process has seen; shared by the copies of one ``LeaderLease``.
private final class HighestEpoch: Sendable {
    private let epoch = Mutex<Int64>(0)
    var value: Int64 { epoch.withLock { $0 } }
    func raise(to seen: Int64) { epoch.withLock { $0 = max($0, seen) } }
}
