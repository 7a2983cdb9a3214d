#if canImport(Glibc)
    import Glibc
#endif
public import MNCore

/// Host ports of this machine: whether one can still be bound (a port some process outside mn
/// already holds fails a version in validation instead of failing its containers at start),
/// and a free one as the kernel picks it.
public enum HostPorts {
    /// Whether `port` can be bound on all IPv4 addresses right now.
    public static func isFree(_ port: HostPort) -> Bool {
        let fd = socket(AF_INET, socketType(port.transport), 0)
        guard fd >= 0 else { return true }  // cannot tell; the start will say
        defer { close(fd) }
        return bind(fd, to: port.port) != nil
    }

    /// A port the kernel considers free now (bound to port 0 and released), or `nil`.
    public static func free(_ transport: PortMapping.Transport = .tcp) -> Int? {
        let fd = socket(AF_INET, socketType(transport), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return bind(fd, to: 0)
    }

    /// Binds socket `fd` to `port` (0: one the kernel picks) on all IPv4 addresses; returns the
    /// port it is bound to, or `nil` if it could not bind.
    public static func bind(_ fd: Int32, to port: Int) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                Glibc.bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        return named ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    private static func socketType(_ transport: PortMapping.Transport) -> Int32 {
        Int32(transport == .udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
    }
}
