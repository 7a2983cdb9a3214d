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
