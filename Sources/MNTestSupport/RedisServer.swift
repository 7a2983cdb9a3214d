import Foundation
public import MNAgent

/// A real `redis-server` for tests: its own temporary directory and unix socket, an
/// append-only file (so a restart keeps the data, as a real deployment's Redis would),
/// optionally a password. Readiness is awaited by PING, never by sleeping.
public final class RedisServer: @unchecked Sendable {
    public let directory: URL
    public let socketPath: String
    public let password: String?
    private let lock = NSLock()
    private var process: ChildProcess?

    /// The URL clients use (with the password, if any).
    public var url: RedisURL { RedisURL(endpoint: .unix(path: socketPath), password: password) }

    private init(directory: URL, password: String?) {
        self.directory = directory
        self.socketPath = directory.appendingPathComponent("redis.sock").path
        self.password = password
    }

    /// Runs `body` with a fresh server, and always removes the server afterwards.
    public static func with<T>(password: String? = nil, _ body: (RedisServer) async throws -> T) async throws -> T {
        let server = try await start(password: password)
        do {
            let result = try await body(server)
            await server.destroy()
            return result
        } catch {
            await server.destroy()
            throw error
        }
    }

    /// Starts a server and waits until it answers.
    public static func start(password: String? = nil) async throws -> RedisServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mn-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let server = RedisServer(directory: directory, password: password)
        try await server.launch()
        return server
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    public func stop() async {
        let running: ChildProcess? = lock.withLock {
            defer { process = nil }
            return process
        }
        guard let running else { return }
        running.signal(SIGTERM)
        await running.exit(killAfter: .seconds(10))
    }

    /// Stops and starts the server again on the same socket; its data survives (append-only file).
    public func restart() async throws {
        await stop()
        try await launch()
    }

    /// Stops the server and removes its directory.
    public func destroy() async {
        await stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func launch() async throws {
        try? FileManager.default.removeItem(atPath: socketPath)
        guard let executable = ChildProcess.find("redis-server") else { throw RedisError("redis-server not found; run scripts/setup.sh") }
        var arguments = [
            "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700", "--save", "", "--appendonly", "yes",
            "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if let password { arguments += ["--requirepass", password] }
        let child = try ChildProcess(executable: executable, arguments: arguments)
        lock.withLock { process = child }
        try await waitUntilReady()
    }

    private func waitUntilReady() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: socketPath) {
                let client = RedisClient(url: url)
                let reply = try? await client.run("PING")
                await client.close()
                if reply == .status("PONG") { return }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw RedisError("redis-server did not answer within 10 s; see \(directory.path)/redis.log")
    }
}
