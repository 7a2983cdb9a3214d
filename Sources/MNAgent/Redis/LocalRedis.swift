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

    /// A client of the Redis to use: `url` when given (`--redis` or `MN_REDIS_URL`; it
    /// connects at its first command), else of the local server in `stateDirectory`, started
    /// if none answers (the client returned is the one that found it answering).
    public static func client(url: String?, stateDirectory: String) async throws -> RedisClient {
        if let url, !url.isEmpty { return RedisClient(url: try RedisURL(parsing: url)) }
        return try await ensureRunning(stateDirectory: stateDirectory)
    }

    /// Returns a client of the local server in `stateDirectory`, starting the server if needed.
    public static func ensureRunning(stateDirectory: String) async throws -> RedisClient {
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
        if let client = await answering(url) { return client }

        // One starter at a time: whoever holds the lock starts the server, the rest find it.
        let lockPath = directory.appendingPathComponent("redis.lock").path
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw RedisError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            try await Task.sleep(for: .milliseconds(10))  // another process is starting it
        }
        defer { flock(lock, LOCK_UN) }
        if let client = await answering(url) { return client }

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
            if let client = await answering(url) { return client }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw RedisError("the local redis-server did not start; see \(directory.path)/redis.log")
    }

    /// A client of `url` that answered PING (kept open, so its caller connects once), or nil.
    private static func answering(_ url: RedisURL) async -> RedisClient? {
        guard case .unix(let path) = url.endpoint, FileManager.default.fileExists(atPath: path) else { return nil }
        let client = RedisClient(url: url)
        if (try? await client.run("PING")) == .status("PONG") { return client }
        await client.close()
        return nil
    }
}
