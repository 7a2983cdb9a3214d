import Foundation
public import Logging

/// Finds the podman REST service to use, or starts one.
public enum PodmanSocket {
    /// A socket that answers, and the service mn started for it (if it had to).
    public struct Resolved: Sendable {
        public let path: String
        /// The `podman system service` this mnagent started, to stop on shutdown.
        public let startedService: ChildProcess?
        /// The one a previous mnagent of the same state directory started and left running
        /// (killed with SIGKILL), taken over: stopped on shutdown as if this one had started it.
        public let adoptedService: pid_t?

        init(path: String, startedService: ChildProcess? = nil, adoptedService: pid_t? = nil) {
            self.path = path
            self.startedService = startedService
            self.adoptedService = adoptedService
        }

        /// Stops the service mnagent started or took over, if any (SIGTERM, SIGKILL after 10 s).
        public func stop() async {
            if let service = startedService {
                service.signal(SIGTERM)
                await service.exit(killAfter: .seconds(10))
            }
            if let pid = adoptedService {
                kill(pid, SIGTERM)
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while kill(pid, 0) == 0 {
                    if ContinuousClock.now >= deadline {
                        kill(pid, SIGKILL)
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
        }
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
            return Resolved(path: given)
        }
        var candidates = ["/run/podman/podman.sock"]
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] { candidates.append(runtime + "/podman/podman.sock") }
        for candidate in candidates where await answers(candidate) {
            logger.info("using the podman service at \(candidate)")
            return Resolved(path: candidate)
        }
        guard let podman = ChildProcess.find("podman") else {
            throw ProcessError("podman is not installed (Debian: apt-get install podman), and no --podman-socket was given")
        }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let path = stateDirectory + "/podman.sock"
        let pidFile = stateDirectory + "/podman.pid"
        // The service runs in a process group of its own, so a predecessor killed with SIGKILL
        // left it running: take it over rather than start a second one beside it.
        if let pid = predecessor(recordedIn: pidFile, serving: path) {
            if await answers(path) {
                logger.info("took over the podman system service a previous mnagent started at \(path) (pid \(pid))")
                return Resolved(path: path, adoptedService: pid)
            }
            kill(pid, SIGKILL)  // it runs but does not answer: replaced
        }
        let service = try await startService(podman: podman, stateDirectory: stateDirectory)
        logger.info("started podman system service at \(path)")
        return Resolved(path: path, startedService: service)
    }

    /// Starts `podman system service` on `STATE_DIR/podman.sock` in a process group of its
    /// own, records its pid in `STATE_DIR/podman.pid`, and returns once it answers (or throws
    /// after 30 s, or when it exits first).
    static func startService(podman: String, stateDirectory: String) async throws -> ChildProcess {
        let path = stateDirectory + "/podman.sock"
        try? FileManager.default.removeItem(atPath: path)
        let service = try ChildProcess(
            executable: podman, arguments: ["system", "service", "--time=0", "unix://\(path)"], logFile: stateDirectory + "/podman.log")
        try? "\(service.pid)\n".write(toFile: stateDirectory + "/podman.pid", atomically: true, encoding: .utf8)
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if await answers(path) { return service }
            if service.hasExited { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        service.signal(SIGKILL)
        await service.exit()
        throw ProcessError("podman system service did not start; see \(stateDirectory)/podman.log")
    }

    /// The pid recorded in `pidFile` if that process still runs `podman system service` on
    /// `path` (its command line says so: a pid used again by another process is left alone).
    static func predecessor(recordedIn pidFile: String, serving path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return nil }
        let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.contains("system"), arguments.contains("service"), arguments.contains("unix://\(path)") else { return nil }
        return pid
    }

    static func answers(_ path: String) async -> Bool {
        FileManager.default.fileExists(atPath: path) ? await PodmanRuntime(socketPath: path).ping() : false
    }
}
