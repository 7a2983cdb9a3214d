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
///
/// Podman's ids are 64 hex digits, held as 32 bytes (see ``CompactHex``).
public struct ContainerID: StringIdentifier {
    private let value: CompactHex
    public init(_ rawValue: String) { value = CompactHex(rawValue) }
    public var rawValue: String { value.text }

    // By the compact value: RawRepresentable's defaults would make the text each time.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// A host that runs one `mnagent`.
public struct NodeID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// The SHA-256 of an agent's canonical spec, in lowercase hex (see ``AgentSpec/specHash``).
///
/// Held as its 32 bytes (see ``CompactHex``): plans over many instances copy, compare and
/// hash spec hashes all the time.
public struct SpecHash: StringIdentifier {
    private let value: CompactHex

    /// Reads `rawValue`: 64 lowercase hex digits are a digest; anything else is kept as text.
    public init(_ rawValue: String) { value = CompactHex(rawValue) }

    /// A digest from its 32 bytes.
    public init<Bytes: Sequence>(digest bytes: Bytes) where Bytes.Element == UInt8 { value = CompactHex(digest: bytes) }

    /// The lowercase hex digits (or the text it was read from).
    public var rawValue: String { value.text }

    /// The first 12 hex digits, enough to tell specs apart in names and logs.
    public var short: String { value.prefix(12) }

    // By the compact value: RawRepresentable's defaults would make the text each time.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
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
