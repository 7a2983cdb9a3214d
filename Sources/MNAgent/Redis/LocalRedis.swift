import Foundation
import Glibc

/// The single-host default: with no Redis URL configured, mnctl and mnagent share a
/// `redis-server` on a unix socket in the state directory, started by whichever comes
/// first and kept (append-only file on) across restarts.
public enum LocalRedis {
    /// `MN_STATE_DIR`, else `/var/lib/mn` for root, else `$XDG_STATE_HOME/mn` or `~/.local/state/mn`.
    public static func defaultStateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let configured = environment["MN_STATE_DIR"], !configured.isEmpty { return configured }
        if getuid() == 0 { return "/var/lib/mn" }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/mn" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/mn"
    }

    /// The URL to use: `url` when given (`--redis` or `MN_REDIS_URL`), else the local server
    /// in `stateDirectory`, started if none answers.
    public static func resolve(url: String?, stateDirectory: String) async throws -> RedisURL {
        if let url, !url.isEmpty { return try RedisURL(parsing: url) }
        return try await ensureRunning(stateDirectory: stateDirectory)
    }

    /// Returns the URL of the local server in `stateDirectory`, starting it if needed.
    public static func ensureRunning(stateDirectory: String) async throws -> RedisURL {
        let directory = URL(fileURLWithPath: stateDirectory)
        do {
            // The append-only file holds manifests, whose env may be secret: owner only.
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            guard chmod(directory.path, 0o700) == 0 else { throw RedisError(String(cString: strerror(errno))) }
        } catch {
            throw RedisError(
                "cannot create the state directory \(stateDirectory): \(error.localizedDescription); set --state-dir or MN_STATE_DIR")
        }
        let url = RedisURL(endpoint: .unix(path: directory.appendingPathComponent("redis.sock").path))
        if await answers(url) { return url }

        // One starter at a time: whoever holds the lock starts the server, the rest find it.
        let lockPath = directory.appendingPathComponent("redis.lock").path
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw RedisError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            try await Task.sleep(for: .milliseconds(10))  // another process is starting it
        }
        defer { flock(lock, LOCK_UN) }
        if await answers(url) { return url }

        guard let executable = ChildProcess.find("redis-server") else {
            throw RedisError("redis-server is not installed; install it (Debian: apt-get install redis-server) or pass --redis URL")
        }
        let daemonizing = try ChildProcess(
            executable: executable,
            arguments: [
                "--daemonize", "yes", "--port", "0",
                "--unixsocket", directory.appendingPathComponent("redis.sock").path, "--unixsocketperm", "700",
                "--dir", directory.path, "--appendonly", "yes", "--appendfilename", "mn.aof", "--save", "",
                "--pidfile", directory.appendingPathComponent("redis.pid").path,
                "--logfile", directory.appendingPathComponent("redis.log").path,
            ])
        await daemonizing.exit()
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if await answers(url) { return url }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw RedisError("the local redis-server did not start; see \(directory.path)/redis.log")
    }

    private static func answers(_ url: RedisURL) async -> Bool {
        guard case .unix(let path) = url.endpoint, FileManager.default.fileExists(atPath: path) else { return false }
        let client = RedisClient(url: url)
        let reply = try? await client.run("PING")
        await client.close()
        return reply == .status("PONG")
    }
}
