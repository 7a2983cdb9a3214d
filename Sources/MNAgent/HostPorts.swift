#if canImport(Glibc)
    import Glibc
#endif
import MNCore

/// Whether a host port can still be bound on this machine: a port some process outside mn
/// already holds fails a version in validation instead of failing its containers at start.
enum HostPorts {
    /// Whether `port` can be bound on all IPv4 addresses right now.
    static func isFree(_ port: HostPort) -> Bool {
        let fd = socket(AF_INET, Int32(port.transport == .udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }  // cannot tell; the start will say
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port.port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}
