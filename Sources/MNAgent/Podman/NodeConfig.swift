import Foundation
public import MNCore

/// Settings that belong to a node, not to a manifest: read from the agent's config file
/// (`/etc/mn/agent.json` by default). Every field is optional.
///
/// ```json
/// { "network": "bridge",
///   "rlimits": [{ "type": "nofile", "soft": 1024, "hard": 20000 }],
///   "address": "10.0.0.5",
///   "meta": { "rack": "r1" },
///   "capacity": { "cpu_millis": 6000, "memory_mb": 28000 },
///   "devices": [{ "id": "0", "kind": "gpu", "driver": "cuda", "memory_mb": 40960 }],
///   "heartbeat_ttl_ms": 15000 }
/// ```
public struct NodeConfig: Hashable, Sendable, Codable {
    /// A resource limit set on every container (podman's REST API ignores
    /// `default_ulimits` from containers.conf; some hosts refuse podman's own defaults).
    public struct ResourceLimit: Hashable, Sendable, Codable {
        public var type: String
        public var soft: UInt64
        public var hard: UInt64

        /// Creates a limit.
        public init(type: String, soft: UInt64, hard: UInt64) {
            self.type = type
            self.soft = soft
            self.hard = hard
        }
    }

    /// CPU and memory offered to instances, when not what the host has.
    public struct Capacity: Hashable, Sendable, Codable {
        public var cpuMillis: Int?
        public var memoryMB: Int?

        /// Creates an override.
        public init(cpuMillis: Int? = nil, memoryMB: Int? = nil) {
            self.cpuMillis = cpuMillis
            self.memoryMB = memoryMB
        }

        enum CodingKeys: String, CodingKey {
            case cpuMillis = "cpu_millis"
            case memoryMB = "memory_mb"
        }
    }

    /// The network mode for containers: `bridge` (ports can be published), `host` or `none`.
    public var network: String
    public var rlimits: [ResourceLimit]
    /// The address other hosts and clients reach this node at (default: the host's primary address).
    public var address: String?
    /// Operator-set attributes, named `meta.KEY` in manifest constraints.
    public var meta: [String: String]
    /// Overrides what is read from the host.
    public var capacity: Capacity
    /// Devices instances can be given, beside the NVIDIA GPUs found by `nvidia-smi`.
    public var devices: [NodeDevice]
    /// How long the node counts as up after its last heartbeat (it heartbeats every third of this).
    public var heartbeatTTLMs: Int

    /// Bridge networking and no rlimits: what an ordinary host needs.
    public static let defaults = NodeConfig(network: "bridge", rlimits: [])

    /// The default config file.
    public static let defaultPath = "/etc/mn/agent.json"

    /// Creates a config.
    public init(
        network: String, rlimits: [ResourceLimit], address: String? = nil, meta: [String: String] = [:], capacity: Capacity = .init(),
        devices: [NodeDevice] = [], heartbeatTTLMs: Int = 15_000
    ) {
        self.network = network
        self.rlimits = rlimits
        self.address = address
        self.meta = meta
        self.capacity = capacity
        self.devices = devices
        self.heartbeatTTLMs = heartbeatTTLMs
    }

    enum CodingKeys: String, CodingKey {
        case network, rlimits, address, meta, capacity, devices
        case heartbeatTTLMs = "heartbeat_ttl_ms"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func invalid(_ key: CodingKeys, _ message: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: message)
        }
        network = try container.decodeIfPresent(String.self, forKey: .network) ?? NodeConfig.defaults.network
        rlimits = try container.decodeIfPresent([ResourceLimit].self, forKey: .rlimits) ?? []
        address = try container.decodeIfPresent(String.self, forKey: .address)
        meta = try container.decodeIfPresent([String: String].self, forKey: .meta) ?? [:]
        capacity = try container.decodeIfPresent(Capacity.self, forKey: .capacity) ?? .init()
        devices = try container.decodeIfPresent([NodeDevice].self, forKey: .devices) ?? []
        heartbeatTTLMs = try container.decodeIfPresent(Int.self, forKey: .heartbeatTTLMs) ?? 15_000
        guard ["bridge", "host", "none"].contains(network) else {
            throw invalid(.network, "network must be 'bridge', 'host' or 'none', got '\(network)'")
        }
        if let address, address.isEmpty || address.contains(where: \.isWhitespace) {
            throw invalid(.address, "address must be a host name or IP address other hosts can reach, got '\(address)'")
        }
        if let key = meta.keys.sorted().first(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw invalid(.meta, "meta keys must be non-empty words (used as meta.KEY in constraints), got '\(key)'")
        }
        if let cpu = capacity.cpuMillis, cpu < 1 { throw invalid(.capacity, "capacity.cpu_millis must be at least 1, got \(cpu)") }
        if let memory = capacity.memoryMB, memory < 1 { throw invalid(.capacity, "capacity.memory_mb must be at least 1, got \(memory)") }
        var seen: Set<String> = []
        for device in devices where !seen.insert(device.id).inserted {
            throw invalid(.devices, "device id '\(device.id)' is listed twice; each device needs its own id")
        }
        guard heartbeatTTLMs >= 300 else {
            throw invalid(.heartbeatTTLMs, "heartbeat_ttl_ms must be at least 300, got \(heartbeatTTLMs)")
        }
    }

    /// Reads `path`; a missing default file means the defaults, any other problem is an error.
    public static func load(path: String?) throws -> NodeConfig {
        let file = path ?? defaultPath
        guard FileManager.default.fileExists(atPath: file) else {
            if path == nil { return .defaults }
            throw ConfigError("config file \(file) does not exist")
        }
        do {
            return try JSONDecoder().decode(NodeConfig.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        } catch let error as DecodingError {
            throw ConfigError("config file \(file) is not valid: \(describe(error))")
        } catch {
            throw ConfigError("cannot read config file \(file): \(error.localizedDescription)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "\(path): ") + context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// A config file that cannot be used, with why.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
