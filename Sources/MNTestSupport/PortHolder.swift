#if canImport(Glibc)
    import Glibc
#endif
public import MNAgent

/// A TCP port held by a listening socket, as another process on the node would hold it.
public final class PortHolder: @unchecked Sendable {
    private var fd: Int32
    /// The port held.
    public let port: Int

    /// Listens on `port` (0: one the kernel picks) on all IPv4 addresses; `nil` if it cannot.
    public init?(port: Int = 0) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let bound = HostPorts.bind(fd, to: port), listen(fd, 1) == 0 else {
            if fd >= 0 { Glibc.close(fd) }
            return nil
        }
        self.port = bound
    }

    /// Releases the port.
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
