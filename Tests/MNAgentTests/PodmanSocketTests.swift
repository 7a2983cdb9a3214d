import Foundation
import Glibc
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("Taking over a podman service a killed mnagent left")
    struct PodmanSocketTests {
        @Test("a recorded pid counts only while its process serves the same socket: not a missing or unreadable record, not another program")
        func predecessor() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mn-podman-pid-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let pidFile = directory + "/podman.pid"
            let socket = directory + "/podman.sock"
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: socket) == nil, "no record")
            try "not a pid\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: socket) == nil, "an unreadable record")
            try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: socket) == nil, "a pid of another program")

            // A process whose command line names the service and socket (sh's $0… are free text).
            let service = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "sleep 30", "system", "service", "unix://\(socket)"])
            defer { service.signal(SIGKILL) }
            try "\(service.pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: socket) == service.pid)
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: directory + "/other.sock") == nil, "another socket")
            service.signal(SIGKILL)
            await service.exit()
            #expect(PodmanSocket.predecessor(recordedIn: pidFile, serving: socket) == nil, "a process that ended")
        }
    }
}
