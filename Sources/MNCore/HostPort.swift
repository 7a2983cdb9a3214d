/// A port published on a node's addresses: one number and transport, which only one
/// container of the node can hold at a time.
public struct HostPort: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var port: Int
    public var transport: PortMapping.Transport

    /// Creates a host port.
    public init(_ port: Int, _ transport: PortMapping.Transport = .tcp) {
        self.port = port
        self.transport = transport
    }

    /// `8080/tcp`.
    public var description: String { "\(port)/\(transport.rawValue)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.port, lhs.transport.rawValue) < (rhs.port, rhs.transport.rawValue) }
}

extension PortMapping {
    /// The host port it publishes, if any.
    public var published: HostPort? { hostPort.map { HostPort($0, transport) } }
}

extension AgentSpec {
    /// The host ports its instances publish, sorted.
    public var hostPorts: [HostPort] { ports.compactMap(\.published).sorted() }
}

/// A port a running container publishes, as its runtime reports it: for a port without a
/// fixed `host_port`, the one the node picked.
public struct PublishedPort: Hashable, Sendable, Codable {
    public var containerPort: Int
    public var hostPort: Int
    public var transport: PortMapping.Transport

    /// Creates a published port.
    public init(containerPort: Int, hostPort: Int, transport: PortMapping.Transport = .tcp) {
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.transport = transport
    }

    enum CodingKeys: String, CodingKey {
        case containerPort = "container_port"
        case hostPort = "host_port"
        case transport = "protocol"
    }
}

extension Array where Element == PublishedPort {
    /// The host port `port` is reached at: the published one, else its fixed `host_port`.
    public func hostPort(of port: PortMapping) -> Int? {
        first { $0.containerPort == port.containerPort && $0.transport == port.transport }?.hostPort ?? port.hostPort
    }
}
