import Logging
import MNAgent
import MNCore
import MNTestSupport
import ServiceLifecycle
import Testing

extension RealProcesses {
    @Suite("Controller lease and fencing against a real redis-server", .serialized)
    struct LeaderLeaseTests {
        func lease(_ node: String, _ redis: RedisClient, ttl: Duration = .seconds(10)) -> LeaderLease {
            LeaderLease(redis: redis, node: NodeID(node), ttl: ttl)
        }

        /// The term of an acquisition that succeeded.
        func acquired(_ acquisition: LeaderLease.Acquisition) -> LeaderLease.Term? {
            if case .acquired(let term) = acquisition { return term }
            return nil
        }

        /// Lets the lease key expire now, as if its holder had paused past the TTL.
        func expire(_ redis: RedisClient) async throws {
            try await redis.run("PEXPIRE", StoreKeys.leader, "1")
            try await eventually("the lease expired", seconds: 5) { try await redis.run("GET", StoreKeys.leader) == .null }
        }

        @Test("one of three candidates gets the lease, under epoch 1; the others see who holds it")
        func oneHolder() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let leases = ["a", "b", "c"].map { lease($0, redis) }
                var results: [LeaderLease.Acquisition] = []
                for lease in leases { results.append(try await lease.acquire()) }
                guard case .acquired(let term) = results[0] else {
                    Issue.record("the first candidate did not get a free lease: \(results[0])")
                    return
                }
                #expect(term.epoch == 1 && term.node == "a")
                #expect(results.dropFirst().allSatisfy { $0 == .heldBy(term) })
                #expect(try await LeaderLease.holder(in: redis) == term)
                await redis.close()
            }
        }

        @Test("renewal resets the TTL; only the holder can renew or release")
        func renewal() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let a = lease("a", redis)
                let term = try #require(acquired(try await a.acquire()))
                try await redis.run("PEXPIRE", StoreKeys.leader, "2000")
                #expect(try await a.renew(term))
                let ttl = try await redis.run("PTTL", StoreKeys.leader)
                if case .integer(let ms) = ttl { #expect(ms > 9_000, "renewal did not reset the TTL") } else { Issue.record("PTTL said \(ttl)") }

                var stranger = term
                stranger.value = #"{"epoch":1,"node":"b","token":"x"}"#
                #expect(try await !a.renew(stranger))
                try await a.release(stranger)
                #expect(try await LeaderLease.holder(in: redis) == term, "a stranger's release removed the lease")
                try await a.release(term)
                #expect(try await LeaderLease.holder(in: redis) == nil)
                await redis.close()
            }
        }

        @Test("fencing: after a pause past the TTL, the old leader's writes are refused, even before anyone else leads")
        func fencing() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let a = lease("a", redis)
                let b = lease("b", redis)
                let old = try #require(acquired(try await a.acquire()))
                try await a.write([["SET", "mn:test", "from a"], ["HSET", "mn:test:h", "f", "1"]], under: old)
                #expect(try await redis.run("GET", "mn:test").string == "from a")

                try await expire(redis)
                await #expect(throws: LeaderLease.Fenced.self) { try await a.write([["SET", "mn:test", "stale, no one leads"]], under: old) }

                let new = try #require(acquired(try await b.acquire()))
                #expect(new.epoch == 2 && new.node == "b")
                await #expect(throws: LeaderLease.Fenced.self) { try await a.write([["SET", "mn:test", "stale"]], under: old) }
                #expect(try await !a.renew(old), "the old leader renewed a lease it lost")
                #expect(try await redis.run("GET", "mn:test").string == "from a", "a refused write changed something")

                try await b.write([["SET", "mn:test", "from b"]], under: new)
                #expect(try await redis.run("GET", "mn:test").string == "from b")
                await redis.close()
            }
        }

        @Test("re-acquiring one's own live lease gives a new epoch and fences the older term")
        func reacquire() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let a = lease("a", redis)
                let first = try #require(acquired(try await a.acquire()))
                let second = try #require(acquired(try await a.acquire(replacing: first)))
                #expect(second.epoch == first.epoch + 1)
                await #expect(throws: LeaderLease.Fenced.self) { try await a.write([["SET", "k", "v"]], under: first) }
                // Another process of the same node (a new token) cannot take it while it is held.
                #expect(try await lease("a", redis).acquire(replacing: first) == .heldBy(second))
                await redis.close()
            }
        }

        @Test("the epoch never goes backwards when Redis loses its last increments (an asynchronous failover)")
        func epochSurvivesLostWrites() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let a = lease("a", redis), b = lease("b", redis)
                var term = try #require(acquired(try await a.acquire()))
                for _ in 0..<4 { term = try #require(acquired(try await a.acquire(replacing: term))) }
                #expect(term.epoch == 5)
                #expect(try await b.acquire() == .heldBy(term), "b must have seen epoch 5")
                // The promoted replica had only epoch 2, and no lease at all.
                try await redis.run("SET", StoreKeys.leaderEpoch, "2")
                try await redis.run("DEL", StoreKeys.leader)
                let after = try #require(acquired(try await b.acquire()))
                #expect(after.epoch == 6, "a new term reused an epoch at or below one already seen (\(after.epoch))")
                #expect(try await redis.run("GET", StoreKeys.leaderEpoch).string == "6")
                await #expect(throws: LeaderLease.Fenced.self) { try await a.write([["SET", "k", "v"]], under: term) }
                // A process that saw nothing takes the counter as it stands.
                try await redis.run("DEL", StoreKeys.leader)
                #expect(try #require(acquired(try await lease("c", redis).acquire())).epoch == 7)
                await redis.close()
            }
        }

        @Test("elections: one of three agents leads; when it shuts down another takes over at once, under a higher epoch")
        func handover() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let logger = Logger(label: "test")
                let elections = ["a", "b", "c"].map {
                    LeaderElection(lease: lease($0, redis, ttl: .seconds(30)), retry: .milliseconds(50), logger: logger)
                }
                let tasks = elections.map { election in Task { try await election.run() } }
                try await eventually("one agent leads", seconds: 10) { elections.contains { $0.term != nil } }
                let leaders = elections.filter { $0.term != nil }
                #expect(leaders.count == 1)
                let first = try #require(leaders.first?.term)
                #expect(try await LeaderLease.holder(in: redis) == first)

                // Shut the leader down: it releases the lease, so no one waits 30 s for the TTL.
                let index = try #require(elections.firstIndex { $0.term == first })
                tasks[index].cancel()
                _ = try? await tasks[index].value
                try await eventually("another agent leads", seconds: 10) {
                    elections.enumerated().contains { $0.offset != index && $0.element.term != nil }
                }
                let second = try #require(elections.compactMap(\.term).first)
                #expect(second.epoch > first.epoch && second.node != first.node)
                #expect(elections.filter { $0.term != nil }.count == 1)
                for task in tasks { task.cancel() }
                for task in tasks { _ = try? await task.value }
                #expect(try await LeaderLease.holder(in: redis) == nil, "the last leader did not release the lease")
                await redis.close()
            }
        }

        @Test("a leader whose renewals are refused steps down and says so on its change stream")
        func stepsDown() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                // TTL 600 ms: renewals every 200 ms.
                let election = LeaderElection(lease: lease("a", redis, ttl: .milliseconds(600)), logger: Logger(label: "test"))
                let task = Task { try await election.run() }
                var changes = election.changes.makeAsyncIterator()
                let term = try #require(await changes.next() ?? nil)
                // Someone overwrites the lease (as if it had expired and been taken).
                try await redis.run("SET", StoreKeys.leader, #"{"epoch":99,"node":"z","token":"q"}"#, "PX", "60000")
                #expect(await changes.next() == .some(nil), "no step down after a refused renewal")
                #expect(election.term == nil)
                task.cancel()
                _ = try? await task.value
                #expect(try await LeaderLease.holder(in: redis)?.node == "z", "a stepped-down agent released someone else's lease")
                #expect(term.epoch == 1)
                await redis.close()
            }
        }
    }
}
