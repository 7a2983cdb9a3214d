import Foundation
public import MNAgent

/// A real `podman system service` for tests, on a socket in its own temporary directory,
/// with the node settings from the agent's config file (as `scripts/setup.sh` wrote them).
public final class PodmanService: Sendable {
    public let socketPath: String
    public let runtime: PodmanRuntime
    private let process: ChildProcess
    private let directory: String

    /// The image the tests run: busybox in an otherwise empty root (see `scripts/setup.sh`).
    public static let testImage = "localhost/mn-busybox:1"

    private init(socketPath: String, runtime: PodmanRuntime, process: ChildProcess, directory: String) {
        self.socketPath = socketPath
        self.runtime = runtime
        self.process = process
        self.directory = directory
    }

    /// Starts the service and waits until it answers `_ping`.
    public static func start() async throws -> PodmanService {
        guard let podman = ChildProcess.find("podman") else { throw ProcessError("podman not found; run scripts/setup.sh") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mn-podman-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let socketPath = directory + "/podman.sock"
        let process = try ChildProcess(
            executable: podman, arguments: ["system", "service", "--time=0", "unix://\(socketPath)"], logFile: directory + "/podman.log")
        let runtime = PodmanRuntime(socketPath: socketPath, config: try NodeConfig.load(path: nil))
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while ContinuousClock.now < deadline {
            if await runtime.ping() {
                return PodmanService(socketPath: socketPath, runtime: runtime, process: process, directory: directory)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.signal(SIGKILL)
        await process.exit()
        throw ProcessError("podman system service did not answer within 20 s; see \(directory)/podman.log")
    }

    /// Removes every container whose mn deployment key starts with `prefix`, then stops the service.
    public func stop(removingContainersOf prefix: String) async {
        if let containers = try? await runtime.listManaged() {
            for container in containers where (container.labels["mn.deployment.key"] ?? "").hasPrefix(prefix) {
                try? await runtime.stop(container.id, signal: "SIGKILL", gracePeriodMs: 0)
                try? await runtime.remove(container.id)
            }
        }
        process.signal(SIGTERM)
        await process.exit(killAfter: .seconds(10))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
