import Glibc
import NIOCore
import NIOPosix

/// A Redis connection owned by one actor whose executor is a dedicated thread, so the
/// blocking hiredis calls never stall Swift's cooperative pool.
///
/// The connection is made on first use and remade after it breaks, no sooner than a
/// backoff (100 ms doubling to 5 s) after the last failure; until then commands fail fast.
/// A command is never retried on its own: callers decide what is safe to repeat.
public actor RedisClient {
    public nonisolated let url: RedisURL
    private nonisolated let group: MultiThreadedEventLoopGroup
    private nonisolated let loop: any EventLoop
    private var connection: HiredisConnection?
    private var failures = 0
    private var nextAttempt: ContinuousClock.Instant?
    private var lastError: RedisError?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// Creates a client for `url`; nothing connects until the first command.
    public init(url: RedisURL) {
        self.url = url
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.loop = group.next()
    }

    /// Stops the client's thread. Call once, when done.
    public nonisolated func close() async {
        try? await group.shutdownGracefully()
    }

    /// Runs one command; an error reply throws.
    @discardableResult
    public func run(_ arguments: String...) throws(RedisError) -> RedisReply {
        try run(arguments)
    }

    /// Runs one command; an error reply throws.
    @discardableResult
    public func run(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try runBytes(arguments.map { Array($0.utf8) })
    }

    /// Runs one command with binary arguments; an error reply throws.
    @discardableResult
    public func runBytes(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        let reply = try withConnection { connection throws(RedisError) -> RedisReply in
            try Self.refuseReplica(connection.command(arguments))
        }
        if case .error(let message) = reply {
            throw RedisError("Redis: \(message) (command \(arguments.first.map { String(decoding: $0, as: UTF8.self) } ?? ""))")
        }
        return reply
    }

    /// What a transaction decided after its reads.
    public enum Decision<Result: Sendable>: Sendable {
        /// Run these writes atomically, then return the result.
        case write([[String]], Result)
        /// Write nothing and return the result.
        case skip(Result)
    }

    /// An optimistic transaction: WATCH `keys`, run `reads`, let `decide` turn the replies
    /// into writes, then MULTI … EXEC. If a watched key changed meanwhile, it starts over
    /// (up to `attempts` times), after a random pause that doubles with each attempt (up to
    /// 2, 4, … 64 ms), so that many writers of one key spread out instead of colliding again.
    /// Nothing else runs on this connection in between.
    public func transaction<Result: Sendable>(
        watching keys: [String], reads: [[String]], attempts: Int = 16,
        decide: @Sendable ([RedisReply]) throws -> Decision<Result>
    ) throws -> Result {
        for attempt in 0..<attempts {
            // The client's own thread: a pause here holds up only this connection's callers.
            if attempt > 0 { usleep(UInt32.random(in: 0...(UInt32(1) << min(attempt, 6)) * 1_000)) }
            try run(["WATCH"] + keys)
            let replies: [RedisReply]
            let decision: Decision<Result>
            do {
                replies = try reads.map { try run($0) }
                decision = try decide(replies)
            } catch {
                _ = try? run("UNWATCH")
                throw error
            }
            switch decision {
            case .skip(let result):
                try run("UNWATCH")
                return result
            case .write(let writes, let result):
                let outcome = try exec(writes)
                switch outcome {
                case .null: continue  // a watched key changed: read again
                case .array(let results):
                    if let failed = results.first(where: { if case .error = $0 { true } else { false } }) {
                        throw RedisError("a write in a transaction failed: \(failed)")
                    }
                    return result
                default:
                    throw RedisError("unexpected EXEC reply: \(outcome)")
                }
            }
        }
        throw RedisError("gave up after \(attempts) attempts: the keys kept changing (\(keys.joined(separator: ", ")))")
    }

    /// Runs `writes` as one MULTI … EXEC, without reads: all of them or none.
    public func atomically(_ writes: [[String]]) throws(RedisError) {
        let outcome = try exec(writes)
        guard case .array(let results) = outcome else { throw RedisError("unexpected EXEC reply: \(outcome)") }
        if let failed = results.first(where: { if case .error = $0 { true } else { false } }) {
            throw RedisError("a write in a transaction failed: \(failed)")
        }
    }

    /// Sends MULTI, `writes` and EXEC on one connection and returns EXEC's reply (nil when a
    /// watched key changed). If the connection breaks on the way, whether the writes were
    /// applied is unknown, and the error says so.
    private func exec(_ writes: [[String]]) throws(RedisError) -> RedisReply {
        do {
            return try withConnection { connection throws(RedisError) -> RedisReply in
                try connection.append([Array("MULTI".utf8)])
                for write in writes { try connection.append(write.map { Array($0.utf8) }) }
                try connection.append([Array("EXEC".utf8)])
                var queued: [RedisReply] = []
                for _ in 0...writes.count { queued.append(try connection.readReply()) }
                if let refused = queued.first(where: { if case .error = $0 { true } else { false } }) {
                    _ = try connection.readReply()
                    _ = try Self.refuseReplica(refused)
                    throw RedisError("Redis refused a write in a transaction: \(refused)")
                }
                return try connection.readReply()
            }
        } catch {
            guard error.isConnectionError else { throw error }
            throw RedisError(
                "the connection to Redis broke during a transaction, so whether it was applied is unknown; "
                    + "running the same command again is safe (\(error))", isConnectionError: true)
        }
    }

    /// A `READONLY` reply means the server this connection reached is a replica now (a
    /// failover demoted it): the connection counts as broken, so the next command finds the
    /// master again (through the sentinels, for a sentinel URL).
    private static func refuseReplica(_ reply: RedisReply) throws(RedisError) -> RedisReply {
        if case .error(let message) = reply, message.hasPrefix("READONLY") {
            throw RedisError("Redis: the server is a read-only replica now (\(message))", isConnectionError: true)
        }
        return reply
    }

    private func withConnection<T>(_ body: (HiredisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        let connection = try connected()
        do {
            let value = try body(connection)
            failures = 0
            return value
        } catch {
            if error.isConnectionError { broke(error) }
            throw error
        }
    }

    private func connected() throws(RedisError) -> HiredisConnection {
        if let connection { return connection }
        if let nextAttempt, ContinuousClock.now < nextAttempt, let lastError {
            throw RedisError("Redis unavailable, reconnecting soon (\(lastError))", isConnectionError: true)
        }
        do {
            let made = try HiredisConnection(url: url)
            connection = made
            failures = 0
            nextAttempt = nil
            return made
        } catch {
            broke(error)
            throw error
        }
    }

    private func broke(_ error: RedisError) {
        connection = nil
        lastError = error
        failures += 1
        let backoff = min(5_000, 100 << min(failures - 1, 6))
        nextAttempt = ContinuousClock.now.advanced(by: .milliseconds(backoff))
    }
}
