import MNAgent
import MNTestSupport
import Testing

extension RealProcesses {
    @Suite("Redis client against a real redis-server", .serialized)
    struct RedisClientTests {
        @Test("commands are binary-safe and error replies throw")
        func binarySafe() async throws {
            try await RedisServer.with { server in
                let client = RedisClient(url: server.url)
                let value: [UInt8] = [0, 13, 10, 255, 36, 0]
                try await client.runBytes([Array("SET".utf8), Array("k\0ey".utf8), value])
                #expect(try await client.runBytes([Array("GET".utf8), Array("k\0ey".utf8)]) == .bulk(value))
                #expect(try await client.run("GET", "missing") == .null)
                await #expect(throws: RedisError.self) { try await client.run("INCR", "k\0ey") }
                #expect(try await client.run("PING") == .status("PONG"), "an error reply leaves the connection usable")
                await client.close()
            }
        }

        @Test("AUTH with a password, and a wrong one is a clear error")
        func auth() async throws {
            try await RedisServer.with(password: "correct horse") { server in
                let good = RedisClient(url: server.url)
                #expect(try await good.run("PING") == .status("PONG"))

                var wrongURL = server.url
                wrongURL.password = "wrong"
                let bad = RedisClient(url: wrongURL)
                do {
                    _ = try await bad.run("PING")
                    Issue.record("a wrong password was accepted")
                } catch {
                    #expect("\(error)".contains("refused AUTH"))
                    #expect(!"\(error)".contains("wrong"), "the password leaked into the error")
                }
                var anonymousURL = server.url
                anonymousURL.password = nil
                let anonymous = RedisClient(url: anonymousURL)
                await #expect(throws: RedisError.self) { try await anonymous.run("SET", "a", "b") }
                await anonymous.close()

                // An ACL user with a password of its own.
                try await good.run("ACL", "SETUSER", "agent", "on", ">agent-pw", "~*", "&*", "+@all")
                let user = RedisClient(url: RedisURL(endpoint: server.url.endpoint, username: "agent", password: "agent-pw"))
                #expect(try await user.run("SET", "x", "1") == .status("OK"))
                await good.close()
                await bad.close()
                await user.close()
            }
        }

        @Test("a database number is selected")
        func database() async throws {
            try await RedisServer.with { server in
                var url = server.url
                url.database = 3
                let three = RedisClient(url: url)
                let zero = RedisClient(url: server.url)
                try await three.run("SET", "only-in-3", "yes")
                #expect(try await zero.run("GET", "only-in-3") == .null)
                #expect(try await three.run("GET", "only-in-3") == .bulk(Array("yes".utf8)))
                await three.close()
                await zero.close()
            }
        }

        @Test("a transaction whose watched key changes is retried on fresh data")
        func optimisticTransaction() async throws {
            try await RedisServer.with { server in
                let client = RedisClient(url: server.url)
                let other = RedisClient(url: server.url)
                try await client.run("SET", "counter", "0")
                let interfered = InterferenceOnce()
                let result = try await client.transaction(watching: ["counter"], reads: [["GET", "counter"]]) { replies in
                    let value = Int(replies[0].string ?? "") ?? -1
                    if interfered.firstTime() {
                        // Another writer changes the key between our read and our EXEC.
                        let semaphore = DispatchSemaphoreBox()
                        Task {
                            _ = try? await other.run("SET", "counter", "10")
                            semaphore.signal()
                        }
                        semaphore.wait()
                    }
                    return .write([["SET", "counter", String(value + 1)]], value + 1)
                }
                #expect(result == 11, "the second attempt read 10, not 0")
                #expect(try await client.run("GET", "counter") == .bulk(Array("11".utf8)))
                await client.close()
                await other.close()
            }
        }

        @Test("after redis-server restarts the client reconnects, and the subscriber resubscribes")
        func reconnects() async throws {
            try await RedisServer.with { server in
                let client = RedisClient(url: server.url)
                var events = RedisSubscriber.subscribe(url: server.url, channels: ["mn:changes"]).makeAsyncIterator()
                #expect(await events.next() == .subscribed)
                try await client.run("PUBLISH", "mn:changes", "web")
                #expect(await events.next() == .message(channel: "mn:changes", payload: Array("web".utf8)))

                try await server.restart()
                #expect(await events.next() == .subscribed, "resubscribed after the restart")
                // The client's old connection is broken: the first command may fail, then it reconnects.
                var reply: RedisReply?
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while reply == nil && ContinuousClock.now < deadline {
                    reply = try? await client.run("PUBLISH", "mn:changes", "again")
                    if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(reply == .integer(1))
                #expect(await events.next() == .message(channel: "mn:changes", payload: Array("again".utf8)))
                await client.close()
            }
        }
    }
}

/// True exactly once.
final class InterferenceOnce: @unchecked Sendable {
    private var used = false
    private let lock = NSLockBox()
    func firstTime() -> Bool {
        lock.withLock {
            defer { used = true }
            return !used
        }
    }
}
