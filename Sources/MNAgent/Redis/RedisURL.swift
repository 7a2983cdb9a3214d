/// Where and how to reach Redis: `redis://[user:password@]host[:port][/db]` or
/// `unix:///path/to/redis.sock[?db=N]` (credentials for a socket: `unix://user:password@/path`).
///
/// ``description`` never shows the password.
public struct RedisURL: Hashable, Sendable, CustomStringConvertible {
    /// TCP or unix socket.
    public enum Endpoint: Hashable, Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
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
            RedisError("invalid Redis URL (\(why)); use redis://[user:password@]host[:port][/db] or unix:///path/to/redis.sock")
        }
        var rest: Substring
        let isUnix: Bool
        if text.hasPrefix("redis://") {
            rest = text.dropFirst("redis://".count)
            isUnix = false
        } else if text.hasPrefix("unix://") {
            rest = text.dropFirst("unix://".count)
            isUnix = true
        } else {
            throw invalid("it must start with redis:// or unix://")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : percentDecoded(user)
                password = percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                password = percentDecoded(credentials)
            }
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
        var host = String(hostPort)
        var port = 6379
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            host = String(hostPort[..<colon])
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("the port must be 1-65535")
            }
            port = number
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        self.init(endpoint: .tcp(host: host, port: port), username: username, password: password, database: database)
    }

    /// The URL with the password shown as `***`.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" } else if let username { credentials = "\(username)@" }
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(credentials)\(shownHost):\(port)" + (database == 0 ? "" : "/\(database)")
        case .unix(let path):
            return "unix://\(credentials.isEmpty ? "" : credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
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
