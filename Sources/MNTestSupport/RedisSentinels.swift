import Foundation
public import MNAgent

/// A real Redis Sentinel set-up on loopback for tests: a primary, one replica and three
/// sentinels (quorum 2, a master counts as down after 1 s), each a `redis-server` with a
/// fresh TCP port and its own directory. Readiness is awaited by asking the sentinels
/// (`SENTINEL CKQUORUM`), never by sleeping.
public final class RedisSentinels: @unchecked Sendable {
    /// The name the sentinels monitor the primary under.
    public static let masterName = "mnmaster"

    public let directory: URL
    /// The data servers' ports: the first starts as the primary.
    public let serverPorts: [Int]
    public let sentinelPorts: [Int]
    private let lock = NSLock()
    private var processes: [Int: ChildProcess] = [:]

    /// The URL clients use: every sentinel, then the master's name.
    public var url: RedisURL {
        RedisURL(
            endpoint: .sentinel(sentinels: sentinelPorts.map { .init(host: "127.0.0.1", port: $0) }, master: Self.masterName))
    }

    /// A plain URL to the server on `port`, bypassing the sentinels.
    public func direct(_ port: Int) -> RedisURL { RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port)) }

    private init(directory: URL, serverPorts: [Int], sentinelPorts: [Int]) {
        self.directory = directory
        self.serverPorts = serverPorts
        self.sentinelPorts = sentinelPorts
    }

    /// Runs `body` with a fresh set-up, and always stops and removes it afterwards.
    public static func with<T>(_ body: (RedisSentinels) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mn-sentinel-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = try freePorts(5)
        let set = RedisSentinels(directory: directory, serverPorts: Array(ports[0..<2]), sentinelPorts: Array(ports[2...]))
        do {
            try await set.launch()
            let result = try await body(set)
            await set.destroy()
            return result
        } catch {
            await set.destroy()
            throw error
        }
    }

    /// The port of the server the sentinels name as master now.
    public func masterPort() async throws -> Int {
        let client = RedisClient(url: direct(sentinelPorts[0]))
        let reply = try? await client.run("SENTINEL", "get-master-addr-by-name", Self.masterName)
        await client.close()
        guard let reply, let port = reply.array?.last?.string.flatMap(Int.init) else { throw RedisError("no master known: \(reply)") }
        return port
    }

    /// Kills (SIGKILL) the server on `port`, as a crash would.
    public func kill(_ port: Int) async {
        let process: ChildProcess? = lock.withLock { processes.removeValue(forKey: port) }
        process?.signal(SIGKILL)
        await process?.exit()
    }

    /// Stops everything and removes the directory.
    public func destroy() async {
        let all: [ChildProcess] = lock.withLock {
            defer { processes = [:] }
            return Array(processes.values)
        }
        for process in all { process.signal(SIGTERM) }
        for process in all { await process.exit(killAfter: .seconds(10)) }
        try? FileManager.default.removeItem(at: directory)
    }

    private func launch() async throws {
        guard let executable = ChildProcess.find("redis-server") else { throw RedisError("redis-server not found; run scripts/setup.sh") }
        for (index, port) in serverPorts.enumerated() {
            let dir = directory.appendingPathComponent("server-\(port)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.path,
                "--repl-diskless-sync-delay", "0",
                "--logfile", dir.appendingPathComponent("redis.log").path,
            ]
            if index > 0 { arguments += ["--replicaof", "127.0.0.1", String(serverPorts[0])] }
            try start(port, executable, arguments)
        }
        for port in serverPorts {
            try await until("the server on \(port) answers", asking: port) { try await $0.run("PING") == .status("PONG") }
        }
        // The replicas have their first full copy (before it, WAIT counts none of them).
        for port in serverPorts.dropFirst() {
            try await until("the replica on \(port) has synced", asking: port) {
                try await $0.run("INFO", "replication").string?.contains("master_link_status:up") == true
            }
        }
        for port in sentinelPorts {
            // A sentinel rewrites its configuration file, so each has one of its own.
            let config = directory.appendingPathComponent("sentinel-\(port).conf")
            try """
            port \(port)
            bind 127.0.0.1
            dir \(directory.path)
            logfile \(directory.appendingPathComponent("sentinel-\(port).log").path)
            sentinel monitor \(Self.masterName) 127.0.0.1 \(serverPorts[0]) 2
            sentinel down-after-milliseconds \(Self.masterName) 1000
            sentinel failover-timeout \(Self.masterName) 10000

            """.write(to: config, atomically: true, encoding: .utf8)
            try start(port, executable, [config.path, "--sentinel"])
        }
        // Every sentinel knows the replica and the other two, so a failover can be authorised.
        for port in sentinelPorts {
            try await until("sentinel \(port) sees the whole set-up", asking: port) { client in
                let quorum = try await client.run("SENTINEL", "CKQUORUM", Self.masterName).string ?? ""
                let replicas = try await client.run("SENTINEL", "REPLICAS", Self.masterName).array?.count ?? 0
                return quorum.contains("3 usable") && replicas == self.serverPorts.count - 1
            }
        }
    }

    private func start(_ port: Int, _ executable: String, _ arguments: [String]) throws {
        let process = try ChildProcess(executable: executable, arguments: arguments)
        lock.withLock { processes[port] = process }
    }

    /// Asks the server or sentinel on `port` every 20 ms (an error counts as "not yet") until
    /// `ready` says yes; throws after 30 s.
    private func until(_ what: String, asking port: Int, _ ready: (RedisClient) async throws -> Bool) async throws {
        let client = RedisClient(url: direct(port))
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if (try? await ready(client)) == true {
                await client.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await client.close()
        throw RedisError("timed out after 30 s waiting until \(what); see \(directory.path)")
    }

    /// `count` TCP ports free on loopback now (the kernel's choice, released for the servers).
    private static func freePorts(_ count: Int) throws -> [Int] {
        let holders = (0..<count).compactMap { _ in PortHolder() }
        guard holders.count == count else { throw RedisError("could not find \(count) free TCP ports") }
        defer { holders.forEach { $0.close() } }
        return holders.map(\.port)
    }
}
