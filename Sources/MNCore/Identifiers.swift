/// A string-backed identifier that encodes as a bare JSON string.
///
/// Every id in mn is one of these small types, so a `ContainerID` can never be
/// passed where an `AgentID` is expected.
public protocol StringIdentifier: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String {
    init(_ rawValue: String)
}

extension StringIdentifier {
    public init(rawValue: String) { self.init(rawValue) }
    public init(stringLiteral value: String) { self.init(value) }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The stable identity of an application across all its versions (`deployment.key`).
public struct DeploymentKey: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// One rollout of one version of a deployment key, written `KEY@VERSION`.
public struct DeploymentID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The id of the rollout that brings `key` to `version`; one rollout per version.
    public init(key: DeploymentKey, version: Int) { self.rawValue = "\(key.rawValue)@\(version)" }
}

/// A unit of the manifest (`agents[].id`).
public struct AgentID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A container as the runtime names it; the only way mn refers to a running container.
public struct ContainerID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A host that runs one `mnagent`.
public struct NodeID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// The SHA-256 of an agent's canonical spec, in lowercase hex (see ``AgentSpec/specHash``).
///
/// A digest is held as its 32 bytes, not as 64 characters: plans over many instances copy,
/// compare and hash spec hashes all the time, and four words do that without reference
/// counting. Any other text (a label someone else wrote) is kept as it is; it never equals
/// a digest, and order is always the order of the text.
public struct SpecHash: StringIdentifier {
    private enum Storage: Hashable, Sendable {
        /// 64 lowercase hex digits, as four big-endian words.
        case digest(UInt64, UInt64, UInt64, UInt64)
        case text(String)
    }

    private let storage: Storage

    /// Reads `rawValue`: 64 lowercase hex digits are a digest; anything else is kept as text.
    public init(_ rawValue: String) {
        storage = Self.words(ofHex: rawValue).map { .digest($0.0, $0.1, $0.2, $0.3) } ?? .text(rawValue)
    }

    /// A digest from its 32 bytes.
    public init<Bytes: Sequence>(digest bytes: Bytes) where Bytes.Element == UInt8 {
        var words: [UInt64] = [0, 0, 0, 0]
        var count = 0
        for byte in bytes.prefix(32) {
            words[count / 8] = words[count / 8] << 8 | UInt64(byte)
            count += 1
        }
        precondition(count == 32, "a SHA-256 digest has 32 bytes")
        storage = .digest(words[0], words[1], words[2], words[3])
    }

    /// The lowercase hex digits (or the text it was read from).
    public var rawValue: String {
        switch storage {
        case .text(let text): return text
        case .digest(let a, let b, let c, let d):
            var hex = ""
            hex.reserveCapacity(64)
            for word in [a, b, c, d] {
                let digits = String(word, radix: 16)
                hex += String(repeating: "0", count: 16 - digits.count) + digits
            }
            return hex
        }
    }

    /// The first 12 hex digits, enough to tell specs apart in names and logs.
    public var short: String {
        guard case .digest(let a, _, _, _) = storage else { return String(rawValue.prefix(12)) }
        let digits = String(a >> 16, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }

    // Compared and hashed by the words: RawRepresentable's defaults would make the hex text each time.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.storage == rhs.storage }

    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }

    /// The order of the hex text, without making it.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        if case .digest(let a0, let a1, let a2, let a3) = lhs.storage, case .digest(let b0, let b1, let b2, let b3) = rhs.storage {
            return (a0, a1, a2, a3) < (b0, b1, b2, b3)
        }
        return lhs.rawValue < rhs.rawValue
    }

    private static func words(ofHex text: String) -> (UInt64, UInt64, UInt64, UInt64)? {
        guard text.utf8.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (position, byte) in text.utf8.enumerated() {
            let nibble: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            switch position / 16 {
            case 0: words.0 = words.0 << 4 | nibble
            case 1: words.1 = words.1 << 4 | nibble
            case 2: words.2 = words.2 << 4 | nibble
            default: words.3 = words.3 << 4 | nibble
            }
        }
        return words
    }
}

/// One running copy of an agent: deployment key, agent and instance index.
public struct InstanceID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The deployment the instance belongs to.
    public var key: DeploymentKey
    /// The agent it runs.
    public var agent: AgentID
    /// Its index among the agent's `count` copies, from 0.
    public var index: Int

    /// Creates an instance identity.
    public init(key: DeploymentKey, agent: AgentID, index: Int) {
        self.key = key
        self.agent = agent
        self.index = index
    }

    /// `KEY/AGENT/INDEX`.
    public var description: String { "\(key)/\(agent)/\(index)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.key, lhs.agent, lhs.index) < (rhs.key, rhs.agent, rhs.index)
    }
}
