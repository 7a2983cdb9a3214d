import CHiredis
import Glibc

/// One hiredis connection. The only place in mn that calls hiredis.
///
/// Not thread-safe and not `Sendable`: its owner (``RedisClient`` or ``RedisSubscriber``)
/// keeps it on one thread for its whole life.
final class HiredisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// hiredis writes with plain `write()`: a peer that went away would raise SIGPIPE and
    /// end the process. The process ignores SIGPIPE once; writes then fail with EPIPE.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Connects to what `url` names (through the sentinels for a sentinel URL, confirming the
    /// server they name is a master), then authenticates and selects the database.
    convenience init(url: RedisURL, connectTimeoutMs: Int = 2_000) throws(RedisError) {
        switch url.endpoint {
        case .tcp, .unix:
            try self.init(endpoint: url.endpoint, connectTimeoutMs: connectTimeoutMs, shownAs: "\(url)")
        case .sentinel(let sentinels, let master):
            let address = try Self.master(named: master, asking: sentinels)
            try self.init(
                endpoint: .tcp(host: address.host, port: address.port), connectTimeoutMs: connectTimeoutMs,
                shownAs: "\(url) (master \(address))")
        }
        if let password = url.password {
            let auth = url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            if case .error(let message) = try command(auth.map { Array($0.utf8) }) {
                throw RedisError("Redis refused AUTH for \(url): \(message)")
            }
        }
        if url.database != 0, case .error(let message) = try command(["SELECT", String(url.database)].map { Array($0.utf8) }) {
            throw RedisError("Redis refused SELECT \(url.database): \(message)")
        }
        if url.isSentinel, let role = try command([Array("ROLE".utf8)]).array?.first?.string, role != "master" {
            // Sentinel's answer lags a failover by a moment; a user whose ACL forbids ROLE
            // skips this check, and a write then meets READONLY instead.
            throw RedisError("the sentinels named \(url) a master but it is a \(role) (a failover is under way)", isConnectionError: true)
        }
    }

    /// A bare connection to a TCP or unix endpoint, without AUTH or SELECT.
    private init(endpoint: RedisURL.Endpoint, connectTimeoutMs: Int, commandTimeoutMs: Int = 10_000, shownAs: String) throws(RedisError) {
        Self.ignoreBrokenPipes
        let timeout = timeval(tv_sec: connectTimeoutMs / 1_000, tv_usec: (connectTimeoutMs % 1_000) * 1_000)
        let made: UnsafeMutablePointer<redisContext>? =
            switch endpoint {
            case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), timeout)
            case .unix(let path): redisConnectUnixWithTimeout(path, timeout)
            case .sentinel: preconditionFailure("a sentinel URL is resolved to its master's TCP address before connecting")
            }
        guard let made else { throw RedisError("cannot allocate a Redis connection to \(shownAs)", isConnectionError: true) }
        guard made.pointee.err == 0 else {
            let message = Self.errorText(made)
            redisFree(made)
            throw RedisError("cannot connect to \(shownAs): \(message)", isConnectionError: true)
        }
        context = made
        // Children the agent starts (podman, redis-server) must not inherit the connection.
        _ = fcntl(made.pointee.fd, F_SETFD, FD_CLOEXEC)
        // Commands may block up to this long before the connection counts as broken.
        redisSetTimeout(context, timeval(tv_sec: commandTimeoutMs / 1_000, tv_usec: (commandTimeoutMs % 1_000) * 1_000))
    }

    /// Asks each sentinel in turn (`SENTINEL get-master-addr-by-name`) where the master is; the
    /// first answer counts.
    /// - Throws: a connection error listing each sentinel's failure when none answers.
    private static func master(named master: String, asking sentinels: [RedisURL.Address]) throws(RedisError) -> RedisURL.Address {
        var failures: [String] = []
        for sentinel in sentinels {
            do {
                let connection = try HiredisConnection(
                    endpoint: .tcp(host: sentinel.host, port: sentinel.port), connectTimeoutMs: 500, commandTimeoutMs: 1_000,
                    shownAs: "sentinel \(sentinel)")
                let reply = try connection.command(["SENTINEL", "get-master-addr-by-name", master].map { Array($0.utf8) })
                if let items = reply.array, items.count == 2, let host = items[0].string, let port = items[1].string.flatMap(Int.init) {
                    return RedisURL.Address(host: host, port: port)
                }
                if case .error(let message) = reply {
                    failures.append("sentinel \(sentinel): \(message)")
                } else {
                    failures.append("sentinel \(sentinel) monitors no master named '\(master)'")
                }
            } catch {
                failures.append(error.description)
            }
        }
        throw RedisError("no sentinel named the master of '\(master)': \(failures.joined(separator: "; "))", isConnectionError: true)
    }

    deinit { redisFree(context) }

    /// The socket, for waiting until a pushed message arrives.
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Sends one command (binary-safe arguments) and waits for its reply.
    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try readReply()
    }

    /// Queues a command without waiting (for pipelines and subscriptions).
    func append(_ arguments: [[UInt8]]) throws(RedisError) {
        let lengths = arguments.map(\.count)
        let status = withCStrings(arguments) { pointers in
            lengths.withUnsafeBufferPointer { sizes in
                redisAppendCommandArgv(context, Int32(arguments.count), pointers, sizes.baseAddress)
            }
        }
        guard status == REDIS_OK else { throw connectionError() }
    }

    /// Waits for the next reply (writing queued commands first).
    func readReply() throws(RedisError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw connectionError() }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// A reply already received and buffered, without reading the socket.
    func bufferedReply() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw connectionError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Reads whatever the socket has into the reply buffer (call when it is readable).
    func fillBuffer() throws(RedisError) {
        guard redisBufferRead(context) == REDIS_OK else { throw connectionError() }
    }

    private func connectionError() -> RedisError {
        RedisError("Redis connection lost: \(Self.errorText(context))", isConnectionError: true)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(Array(UnsafeRawBufferPointer(start: value.str, count: Int(value.len))))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: value.str, count: Int(value.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: value.str, count: Int(value.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).map { copy(value.element[$0]!) })
        default:
            return .null
        }
    }
}

/// Calls `body` with C pointers to each argument's bytes, valid for the call.
private func withCStrings<R>(_ arguments: [[UInt8]], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let buffers = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress {
                UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count)
            }
        }
        return buffer
    }
    defer { buffers.forEach { $0.deallocate() } }
    var pointers = buffers.map { UnsafePointer<CChar>?($0) }
    return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}
