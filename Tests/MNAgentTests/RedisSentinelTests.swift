import MNAgent
import MNCore
import MNTestSupport
import Testing

extension RealProcesses {
    @Suite("Redis Sentinel: a real primary, replica and three sentinels on loopback", .serialized)
    struct RedisSentinelTests {
        /// Retries `command` until it succeeds (a failover takes a few seconds) and returns its reply.
        func once(_ client: RedisClient, _ command: String...) async throws -> RedisReply {
            var reply: RedisReply?
            try await eventually("\(command.joined(separator: " ")) succeeds", seconds: 60) {
                reply = try? await client.run(command)
                return reply != nil
            }
            return try #require(reply)
        }

        @Test("the primary killed: the client's commands and the subscriber follow the promoted replica")
        func followsFailover() async throws {
            try await RedisSentinels.with { (set: RedisSentinels) async throws -> Void in
                let client = RedisClient(url: set.url)
                #expect(try await client.run("SET", "mn:test", "before") == .status("OK"))
                #expect(try await client.run("WAIT", "1", "5000") == .integer(1), "the replica did not acknowledge")
                var events = RedisSubscriber.subscribe(url: set.url, channels: ["mn:changes"]).makeAsyncIterator()
                #expect(await events.next() == .subscribed)

                await set.kill(set.serverPorts[0])
                // Commands fail until the sentinels promote the replica, then reach it.
                #expect(try await once(client, "SET", "mn:test", "after") == .status("OK"))
                #expect(try await set.masterPort() == set.serverPorts[1])
                let promoted = RedisClient(url: set.direct(set.serverPorts[1]))
                #expect(try await promoted.run("GET", "mn:test") == .bulk(Array("after".utf8)))
                #expect(try await promoted.run("ROLE").array?.first?.string == "master")

                #expect(await events.next() == .subscribed, "the subscriber resubscribed on the new master")
                #expect(try await client.run("PUBLISH", "mn:changes", "web") == .integer(1))
                #expect(await events.next() == .message(channel: "mn:changes", payload: Array("web".utf8)))
                await promoted.close()
                await client.close()
            }
        }

        @Test("a manual failover demotes a live master: writes move to the new one; a write to a replica counts as a broken connection")
        func followsDemotion() async throws {
            try await RedisSentinels.with { (set: RedisSentinels) async throws -> Void in
                let client = RedisClient(url: set.url)
                let lease = LeaderLease(redis: client, node: NodeID("a"), ttl: .seconds(120))
                guard case .acquired(let term) = try await lease.acquire() else {
                    Issue.record("no lease on an empty store")
                    return
                }
                // Under Sentinel the new epoch is on the replica before acquire returns.
                let replica = RedisClient(url: set.direct(set.serverPorts[1]))
                let epoch = try await replica.run("GET", StoreKeys.leaderEpoch)
                #expect(epoch == .bulk(Array("1".utf8)), "the replica holds \(epoch)")
                do {
                    try await replica.run("SET", "mn:test", "x")
                    Issue.record("a replica accepted a write")
                } catch let error as RedisError {
                    #expect(error.isConnectionError && error.description.contains("read-only replica"), "\(error)")
                }
                await replica.close()

                let sentinel = RedisClient(url: set.direct(set.sentinelPorts[0]))
                #expect(try await sentinel.run("SENTINEL", "FAILOVER", RedisSentinels.masterName) == .status("OK"))
                await sentinel.close()
                try await eventually("the sentinels name the replica as master", seconds: 60) {
                    try await set.masterPort() == set.serverPorts[1]
                }
                // Until the sentinels reconfigure the old master, a connection made before the
                // failover may still write there (what an asynchronous failover can lose); then
                // its clients are disconnected and the client finds the new master.
                let promoted = RedisClient(url: set.direct(set.serverPorts[1]))
                var attempt = 0
                try await eventually("a write through the sentinel URL reaches the new master", seconds: 60) {
                    attempt += 1
                    _ = try? await client.run("SET", "mn:test", "after-\(attempt)")
                    return try await promoted.run("GET", "mn:test") == .bulk(Array("after-\(attempt)".utf8))
                }
                await promoted.close()
                let old = RedisClient(url: set.direct(set.serverPorts[0]))
                try await eventually("the old master is a replica of the new one", seconds: 60) {
                    try await old.run("ROLE").array?.first?.string == "slave"
                }
                await old.close()
                // The lease moved with the data: its holder renews it on the new master.
                #expect(try await lease.renew(term))
                await client.close()
            }
        }
    }
}
