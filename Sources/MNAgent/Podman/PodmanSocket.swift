import Foundation
public import Logging

/// Finds the podman REST service to use, or starts one.
public enum PodmanSocket {
    /// A socket that answers, and the service mn started for it (if it had to).
    public struct Resolved: Sendable {
        public let path: String
        /// The `podman system service` mnagent started, to stop on shutdown.
        public let startedService: ChildProcess?
    }

    /// Uses `given` if set (it must answer); else a system service that answers at
    /// `/run/podman/podman.sock` or `$XDG_RUNTIME_DIR/podman/podman.sock`; else starts
    /// `podman system service` on `STATE_DIR/podman.sock`.
    public static func resolve(given: String?, stateDirectory: String, logger: Logger) async throws -> Resolved {
        if let given {
            guard await answers(given) else {
                throw ProcessError(
                    "no podman service answers at \(given); start one with 'podman system service --time=0 unix://\(given)' "
                        + "or leave --podman-socket out and mnagent starts its own")
            }
            return Resolved(path: given, startedService: nil)
        }
        var candidates = ["/run/podman/podman.sock"]
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] { candidates.append(runtime + "/podman/podman.sock") }
        for candidate in candidates where await answers(candidate) {
            logger.info("using the podman service at \(candidate)")
            return Resolved(path: candidate, startedService: nil)
        }
        guard let podman = ChildProcess.find("podman") else {
            throw ProcessError("podman is not installed (Debian: apt-get install podman), and no --podman-socket was given")
        }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let path = stateDirectory + "/podman.sock"
        try? FileManager.default.removeItem(atPath: path)
        let service = try ChildProcess(
            executable: podman, arguments: ["system", "service", "--time=0", "unix://\(path)"], logFile: stateDirectory + "/podman.log")
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if await answers(path) {
                logger.info("started podman system service at \(path)")
                return Resolved(path: path, startedService: service)
            }
            if service.hasExited { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        service.signal(SIGKILL)
        await service.exit()
        throw ProcessError("podman system service did not start; see \(stateDirectory)/podman.log")
    }

    private static func answers(_ path: String) async -> Bool {
        FileManager.default.fileExists(atPath: path) ? await PodmanRuntime(socketPath: path).ping() : false
    }
}
