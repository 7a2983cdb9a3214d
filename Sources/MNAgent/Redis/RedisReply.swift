/// A reply from Redis (RESP2), copied out of hiredis into Swift values.
public enum RedisReply: Hashable, Sendable {
    /// A bulk string, binary-safe.
    case bulk([UInt8])
    /// A simple status such as `OK` or `QUEUED`.
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    /// A nil bulk string or nil array.
    case null
    /// An error reply (`ERR …`, `WRONGTYPE …`, `NOAUTH …`).
    case error(String)

    /// The reply as text, for bulk strings and statuses.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// The reply's elements, for arrays.
    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The reply's bytes, for bulk strings.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }
}

/// A Redis connection or command failure, with what went wrong.
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    /// Whether the connection broke (as opposed to Redis answering with an error).
    public var isConnectionError: Bool

    /// Creates an error.
    public init(_ description: String, isConnectionError: Bool = false) {
        self.description = description
        self.isConnectionError = isConnectionError
    }
}
