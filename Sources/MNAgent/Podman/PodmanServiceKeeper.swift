import Foundation
public import Logging
public import ServiceLifecycle

/// Keeps the `podman system service` this mnagent started (or took over) serving: when it
/// exits, or runs but stops answering, it is started again, waiting 1 s, then 2, 4, … up to
/// 30 s between attempts that fail. Containers outlive the service (conmon keeps them), so
/// nothing is stopped meanwhile: the node's passes fail and are retried until it answers.
/// A system podman service (socket-activated by systemd) is left to systemd.
public actor PodmanServiceKeeper: Service {
    private var service: PodmanSocket.Resolved
    private let stateDirectory: String
    private let logger: Logger
    /// How often the process is looked at (a `kill(pid, 0)` or `waitpid`: no request).
    private let checkInterval: Duration
    /// Every how many checks the service must also answer a ping.
    private let pingEvery: Int

    /// Keeps `service` (one mnagent started or took over, in `stateDirectory`) serving.
    public init(_ service: PodmanSocket.Resolved, stateDirectory: String, logger: Logger, checkInterval: Duration = .seconds(1), pingEvery: Int = 10) {
        self.service = service
        self.stateDirectory = stateDirectory
        self.logger = logger
        self.checkInterval = checkInterval
        self.pingEvery = pingEvery
    }

    /// Whether there is anything to keep: a service this mnagent started or took over.
    public static func isNeeded(for service: PodmanSocket.Resolved) -> Bool {
        service.startedService != nil || service.adoptedService != nil
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
    }

    /// Stops the service (on mnagent's shutdown), whichever process serves now.
    public func stop() async { await service.stop() }

    private func watch() async {
        var checks = 0
        var unanswered = 0
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            try? await Task.sleep(for: checkInterval)
            if Task.isCancelled { return }
            checks += 1
            let running = isRunning()
            if running, checks % pingEvery == 0 {
                unanswered = await PodmanSocket.answers(service.path) ? 0 : unanswered + 1
            }
            guard !running || unanswered >= 2 else { continue }
            logger.error(
                running
                    ? "the podman system service at \(service.path) runs but has not answered twice; restarting it"
                    : "the podman system service at \(service.path) ended; starting it again (containers keep running meanwhile)")
            if await restart() {
                unanswered = 0
                backoff = .seconds(1)
            } else {
                logger.error("podman system service did not start again; next attempt in \(backoff) (see \(stateDirectory)/podman.log)")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func isRunning() -> Bool {
        if let started = service.startedService { return !started.hasExited }
        if let pid = service.adoptedService { return kill(pid, 0) == 0 }
        return true
    }

    /// Kills what is left of the service and starts a new one; whether it answers.
    private func restart() async -> Bool {
        service.startedService?.signal(SIGKILL)
        await service.startedService?.exit(killAfter: .zero)
        if let pid = service.adoptedService { kill(pid, SIGKILL) }
        guard let podman = ChildProcess.find("podman") else { return false }
        do {
            let started = try await PodmanSocket.startService(podman: podman, stateDirectory: stateDirectory)
            service = PodmanSocket.Resolved(path: service.path, startedService: started)
            logger.notice("podman system service started again at \(service.path) (pid \(started.pid))")
            return true
        } catch {
            return false
        }
    }
}
