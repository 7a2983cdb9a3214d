import Foundation
import Glibc
import MNAgent
import Testing

extension RealProcesses {
    @Suite("sd_notify")
    struct SystemdNotifierTests {
        @Test("notifications reach the socket named by NOTIFY_SOCKET, and nothing is sent without it")
        func notifies() throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("mn-notify-\(UUID().uuidString.prefix(8))").path
            let socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            try #require(socketFD >= 0)
            defer {
                close(socketFD)
                unlink(path)
            }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count - 1))) }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(bound == 0)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

            let marker = "STATUS=mn-test-\(UUID().uuidString.prefix(8))"
            // NOTIFY_SOCKET is read at each call; set only around this one.
            setenv("NOTIFY_SOCKET", path, 1)
            let sent = SystemdNotifier().notify(["READY=1", marker])
            unsetenv("NOTIFY_SOCKET")
            #expect(sent)

            var received: [String] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<20 {
                let count = recv(socketFD, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                let message = String(decoding: buffer.prefix(count), as: UTF8.self)
                received.append(message)
                if message.contains(marker) { break }
            }
            #expect(received.contains("READY=1\n\(marker)"), "got \(received)")
            #expect(SystemdNotifier().notify(["READY=1"]) == false, "without NOTIFY_SOCKET nothing is sent")
        }
    }
}
