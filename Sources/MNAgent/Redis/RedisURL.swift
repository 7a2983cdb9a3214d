/// Where and how to reach Redis: `redis://[user:password@]host[:port][/db]`,
/// `unix:///path/to/redis.sock[?db=N]` (credentials for a socket: `unix://user:password@/path`),
/// or, through Redis Sentinel, `redis+sentinel://[user:password@]host[:port][,host[:port]…]/MASTER[/db]`.
///
/// ``description`` never shows the password.
public struct RedisURL: Hashable, Sendable, CustomStringConvertible {
    /// TCP, unix socket, or whichever server the sentinels name as the master.
    public enum Endpoint: Hashable, Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
        /// The current master of `master` as the first sentinel that answers names it. The
        /// URL's credentials are the master's; the sentinels are asked without them.
        case sentinel(sentinels: [Address], master: String)
    }

    /// A host and port: a server's, or a sentinel's.
    public struct Address: Hashable, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
    }

    /// The default port of a sentinel.
    public static let sentinelPort = 26379

    /// Whether the URL names a master through sentinels (so it may move).
    public var isSentinel: Bool {
        if case .sentinel = endpoint { true } else { false }
    }

    public var endpoint: Endpoint
    /// The ACL user for `AUTH user password`; `nil` authenticates as the default user.
    public var username: String?
    /// The password for `AUTH`; `nil` means no AUTH.
    public var password: String?
    /// The database to `SELECT`.
    public var database: Int

    /// Creates a URL from its parts.
    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a URL string.
    /// - Throws: ``RedisError`` saying what is wrong and what the forms are.
    public init(parsing text: String) throws(RedisError) {
        func invalid(_ why: String) -> RedisError {
            RedisError(
                "invalid Redis URL (\(why)); use redis://[user:password@]host[:port][/db], unix:///path/to/redis.sock "
                    + "or redis+sentinel://[user:password@]host[:port][,host[:port]…]/MASTER[/db]")
        }
        var rest: Substring
        let isUnix: Bool
        if text.hasPrefix("redis://") {
            rest = text.dropFirst("redis://".count)
            isUnix = false
        } else if text.hasPrefix("unix://") {
            rest = text.dropFirst("unix://".count)
            isUnix = true
        } else if text.hasPrefix("redis+sentinel://") {
            try self.init(sentinel: text.dropFirst("redis+sentinel://".count), invalid: invalid)
            return
        } else {
            throw invalid("it must start with redis://, unix:// or redis+sentinel://")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            (username, password) = Self.credentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if isUnix {
            var path = rest
            if let query = rest.firstIndex(of: "?") {
                path = rest[..<query]
                let parameter = rest[rest.index(after: query)...]
                guard parameter.hasPrefix("db="), let db = Int(parameter.dropFirst(3)), db >= 0 else {
                    throw invalid("the only query parameter is db=N")
                }
                database = db
            }
            guard path.hasPrefix("/") else { throw invalid("a unix socket path must be absolute") }
            self.init(endpoint: .unix(path: String(path)), username: username, password: password, database: database)
            return
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else { throw invalid("the database must be a number, got '\(db)'") }
                database = number
            }
        }
        let address = try Self.address(hostPort, defaultPort: 6379, invalid: invalid)
        self.init(endpoint: .tcp(host: address.host, port: address.port), username: username, password: password, database: database)
    }

    /// Parses what follows `redis+sentinel://`: `[user:password@]host[:port][,…]/MASTER[/db]`.
    private init(sentinel text: Substring, invalid: (String) -> RedisError) throws(RedisError) {
        var rest = text
        var (username, password): (String?, String?) = (nil, nil)
        if let at = rest.lastIndex(of: "@") {
            (username, password) = Self.credentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw invalid("a sentinel URL names its master after the sentinels: redis+sentinel://host:26379/mymaster")
        }
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        guard let master = path.first, !master.isEmpty else { throw invalid("the master name is missing") }
        var database = 0
        if path.count > 2 { throw invalid("after the master name comes at most the database") }
        if path.count == 2, !path[1].isEmpty {
            guard let number = Int(path[1]), number >= 0 else { throw invalid("the database must be a number, got '\(path[1])'") }
            database = number
        }
        var sentinels: [Address] = []
        for part in rest[..<slash].split(separator: ",", omittingEmptySubsequences: false) {
            sentinels.append(try Self.address(part, defaultPort: Self.sentinelPort, invalid: invalid))
        }
        self.init(
            endpoint: .sentinel(sentinels: sentinels, master: percentDecoded(master)), username: username, password: password,
            database: database)
    }

    /// `user:password`, `:password` or `password` (the text before `@`).
    private static func credentials(_ text: Substring) -> (username: String?, password: String?) {
        guard let colon = text.firstIndex(of: ":") else { return (nil, percentDecoded(text)) }
        let user = text[..<colon]
        return (user.isEmpty ? nil : percentDecoded(user), percentDecoded(text[text.index(after: colon)...]))
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    private static func address(_ text: Substring, defaultPort: Int, invalid: (String) -> RedisError) throws(RedisError) -> Address {
        var host = String(text)
        var port = defaultPort
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            host = String(text[..<colon])
            guard let number = Int(text[text.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("the port must be 1-65535")
            }
            port = number
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        return Address(host: host, port: port)
    }

    /// The URL with the password shown as `***`.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" } else if let username { credentials = "\(username)@" }
        switch endpoint {
        case .tcp(let host, let port):
            return "redis://\(credentials)\(Address(host: host, port: port))" + (database == 0 ? "" : "/\(database)")
        case .unix(let path):
            return "unix://\(credentials.isEmpty ? "" : credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
        case .sentinel(let sentinels, let master):
            return "redis+sentinel://\(credentials)\(sentinels.map(\.description).joined(separator: ","))/\(master)"
                + (database == 0 ? "" : "/\(database)")
        }
    }
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits is kept as written.
private func percentDecoded(_ text: Substring) -> String {
    let input = Array(text.utf8)
    var bytes: [UInt8] = []
    var index = 0
    while index < input.count {
        if input[index] == UInt8(ascii: "%"), index + 2 < input.count + 0, index + 2 <= input.count - 1,
            let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
        {
            bytes.append(value)
            index += 3
        } else {
            bytes.append(input[index])
            index += 1
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
