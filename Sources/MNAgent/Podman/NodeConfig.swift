import Foundation

/// Settings that belong to a node, not to a manifest: read from the agent's config file
/// (`/etc/mn/agent.json` by default). Every field is optional.
///
/// ```json
/// { "network": "bridge",
///   "rlimits": [{ "type": "nofile", "soft": 1024, "hard": 20000 }] }
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

    /// The network mode for containers: `bridge` (ports can be published), `host` or `none`.
    public var network: String
    public var rlimits: [ResourceLimit]

    /// Bridge networking and no rlimits: what an ordinary host needs.
    public static let defaults = NodeConfig(network: "bridge", rlimits: [])

    /// The default config file.
    public static let defaultPath = "/etc/mn/agent.json"

    /// Creates a config.
    public init(network: String, rlimits: [ResourceLimit]) {
        self.network = network
        self.rlimits = rlimits
    }

    enum CodingKeys: String, CodingKey { case network, rlimits }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        network = try container.decodeIfPresent(String.self, forKey: .network) ?? NodeConfig.defaults.network
        rlimits = try container.decodeIfPresent([ResourceLimit].self, forKey: .rlimits) ?? []
        guard ["bridge", "host", "none"].contains(network) else {
            throw DecodingError.dataCorruptedError(
                forKey: .network, in: container, debugDescription: "network must be 'bridge', 'host' or 'none', got '\(network)'")
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
