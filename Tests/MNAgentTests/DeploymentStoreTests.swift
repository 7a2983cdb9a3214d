import Foundation
import MNAgent
import MNCore
import MNTestSupport
import Testing

extension RealProcesses {
    @Suite("Deployment store against a real redis-server", .serialized)
    struct DeploymentStoreTests {
        func manifest(_ greeting: String, key: String = "web") throws -> Manifest {
            try Manifest.parse(
                Data(
                    #"{"deployment":{"key":"\#(key)"},"agents":[{"id":"httpd","image":"localhost/mn-busybox:1","env":{"GREETING":"\#(greeting)"}}]}"#
                        .utf8))
        }

        @Test("apply writes version 1, the same manifest again writes nothing, a changed one writes version 2")
        func applyVersions() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                let node = NodeID("n1")
                let first = try await store.apply(try manifest("v1"), to: node, at: Timestamp(milliseconds: 1))
                #expect(first == .init(deployment: "web", version: 1, created: true, node: node))
                let revision = try #require(try await store.deployment("web")).revision

                let again = try await store.apply(try manifest("v1"), to: node, at: Timestamp(milliseconds: 2))
                #expect(again.created == false && again.version == 1)
                #expect(try await store.deployment("web")?.revision == revision, "an unchanged apply writes nothing")

                let second = try await store.apply(try manifest("v2"), to: node, at: Timestamp(milliseconds: 3))
                #expect(second.version == 2 && second.created)
                let record = try #require(try await store.deployment("web"))
                #expect(record.versions.map(\.number) == [1, 2])
                #expect(record.versions[0].manifest == (try manifest("v1")), "version 1 is kept as it was")
                #expect(record.node == node)
                #expect(try await store.assignment(of: node) == nil, "assignments are the controller's alone")
                #expect(try await store.deployments().map(\.key) == ["web"])
                await store.redis.close()
            }
        }

        @Test("rollback appends a copy of the old version, keeps history, and keeps the pin")
        func rollback() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                _ = try await store.apply(try manifest("v2"), to: "n1", at: Timestamp(milliseconds: 2))
                // Run from another host without --node: the deployment stays pinned to n1.
                let result = try await store.rollback("web", to: 1, reason: "restore stable worker", pin: .keep, at: Timestamp(milliseconds: 3))
                #expect(result.node == "n1")
                #expect(result.version == 3)
                let record = try #require(try await store.deployment("web"))
                #expect(record.versions.map(\.number) == [1, 2, 3])
                #expect(record.versions[2].manifest == record.versions[0].manifest)
                #expect(record.versions[2].source == .rollback(from: 1, reason: "restore stable worker"))
                #expect(record.node == "n1")
                await #expect(throws: DeploymentError.self) {
                    try await store.rollback("web", to: 1, reason: "again", pin: .node("n1"), at: Timestamp(milliseconds: 4))
                }
                await #expect(throws: StoreError.self) {
                    try await store.rollback("nope", to: 1, reason: "x", pin: .node("n1"), at: Timestamp(milliseconds: 4))
                }
                #expect(try await store.deployment("web")?.versions.count == 3, "a refused rollback writes nothing")
                await store.redis.close()
            }
        }

        @Test("a deployment keeps its pin unless a node is named; a new one without --node is placed anywhere")
        func pins() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                #expect(try await store.apply(try manifest("v1", key: "free"), pin: .keep, at: Timestamp(milliseconds: 1)).node == nil)
                _ = try await store.apply(try manifest("v1"), pin: .node("n1"), at: Timestamp(milliseconds: 1))
                #expect(try await store.apply(try manifest("v2"), pin: .keep, at: Timestamp(milliseconds: 2)).node == "n1")
                let unchanged = try await store.apply(try manifest("v2"), pin: .keep, at: Timestamp(milliseconds: 3))
                #expect(!unchanged.created && unchanged.node == "n1")
                #expect(try await store.deployment("web")?.revision == 2, "an unchanged apply with the same pin writes nothing")

                let moved = try await store.apply(try manifest("v2"), pin: .node("n2"), at: Timestamp(milliseconds: 4))
                #expect(!moved.created && moved.node == "n2")
                #expect(try await store.deployment("web")?.node == "n2")
                #expect(try await store.deployment("web")?.events.last?.message == "pinned to node n2")
                await store.redis.close()
            }
        }

        @Test("versions are stored apart and once: a status change rewrites the record alone; an old record moves its versions out")
        func versionsApart() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                _ = try await store.apply(try manifest("v2"), to: "n1", at: Timestamp(milliseconds: 2))
                let record = try #require(try await store.redis.run("GET", StoreKeys.deployment("web")).string)
                #expect(!record.contains("\"versions\""), "the record carries the history")
                #expect(try await store.redis.run("HLEN", StoreKeys.versions("web")) == .integer(2))
                let stored = try await store.redis.run("HGET", StoreKeys.versions("web"), "1")

                try await store.change("web", .pause, reason: "look", at: Timestamp(milliseconds: 3))
                #expect(try await store.redis.run("HGET", StoreKeys.versions("web"), "1") == stored, "a status change rewrote a version")
                let paused = try #require(try await store.deployment("web"))
                #expect(paused.status == .paused && paused.versions.map(\.number) == [1, 2])

                // A record written before versions were kept apart (versions inline, no hash).
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try await store.redis.run("SET", StoreKeys.deployment("web"), String(decoding: try encoder.encode(paused), as: UTF8.self))
                try await store.redis.run("DEL", StoreKeys.versions("web"))
                #expect(try await store.deployment("web") == paused, "an old record reads as before")
                try await store.change("web", .resume, reason: "ok", at: Timestamp(milliseconds: 4))
                #expect(try await store.redis.run("HLEN", StoreKeys.versions("web")) == .integer(2), "the versions did not move out")
                #expect(try await store.deployment("web")?.versions == paused.versions)
                await store.redis.close()
            }
        }

        @Test("promote: queued while the canaries are not healthy yet (once), at once when they are; refused while paused")
        func promoteQueues() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                _ = try await store.apply(try manifest("v2"), to: "n1", at: Timestamp(milliseconds: 2))
                _ = try await store.updateRecord("web") { record in
                    record.status = .deploying
                    record.rollout = RolloutState(target: 2, strategy: .canary, now: Timestamp(milliseconds: 2))
                    return true
                }
                #expect(try await store.promote("web", at: Timestamp(milliseconds: 3)) == .queued)
                await #expect(throws: StoreError.self) { try await store.promote("web", at: Timestamp(milliseconds: 4)) }
                _ = try await store.updateRecord("web") { record in
                    record.rollout?.awaitingPromotion = true
                    return true
                }
                #expect(try await store.promote("web", at: Timestamp(milliseconds: 5)) == .promoted)
                #expect(try await store.deployment("web")?.rollout?.promotedAt == Timestamp(milliseconds: 5))
                try await store.change("web", .pause, reason: "look", at: Timestamp(milliseconds: 6))
                await #expect(throws: StoreError.self) { try await store.promote("web", at: Timestamp(milliseconds: 7)) }
                await store.redis.close()
            }
        }

        @Test("a reader fetches versions once: a later read of the same record fetches none, a new version is fetched alone")
        func versionsCached() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                func fetches() async throws -> Int? {
                    let calls = try await commandCalls(store.redis)
                    return calls["hgetall"].map { $0 + (calls["hmget"] ?? 0) } ?? calls["hmget"]
                }
                let first = try #require(try await store.deployment("web"))
                try await store.redis.run("CONFIG", "RESETSTAT")
                #expect(try await store.deployment("web") == first)
                #expect(try await fetches() == nil, "the versions were fetched again")

                _ = try await store.apply(try manifest("v2"), to: "n1", at: Timestamp(milliseconds: 2))
                try await store.redis.run("CONFIG", "RESETSTAT")
                #expect(try await store.deployment("web")?.versions.map(\.number) == [1, 2])
                #expect(try await fetches() == 1, "a new version was not fetched")
                #expect(try await commandCalls(store.redis)["hgetall"] == nil, "every version was fetched again, not the new one alone")
                await store.redis.close()
            }
        }

        @Test(
            "a record made again after Redis lost its data is read with its own versions, not those cached from the old one under the same numbers"
        )
        func versionsOfAnotherHistory() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                _ = try await store.apply(try manifest("v2"), to: "n1", at: Timestamp(milliseconds: 2))
                #expect(try await store.deployment("web")?.versions.map(\.manifest) == [try manifest("v1"), try manifest("v2")])

                try await store.redis.run("FLUSHALL")
                _ = try await store.apply(try manifest("v3"), to: "n1", at: Timestamp(milliseconds: 3))
                #expect(try await store.deployment("web")?.versions.map(\.manifest) == [try manifest("v3")])
                _ = try await store.apply(try manifest("v4"), to: "n1", at: Timestamp(milliseconds: 4))
                #expect(try await store.deployment("web")?.versions.map(\.manifest) == [try manifest("v3"), try manifest("v4")])
                #expect(try await store.version("web", 1)?.manifest == (try manifest("v3")))

                // A reader that read versions by number only (as a node does) learns no history's
                // origin: a record read after another loss does not trust them either.
                let node = DeploymentStore(redis: RedisClient(url: server.url))
                #expect(try await node.version("web", 2)?.manifest == (try manifest("v4")))
                try await store.redis.run("FLUSHALL")
                _ = try await store.apply(try manifest("v5"), to: "n1", at: Timestamp(milliseconds: 5))
                #expect(try await node.deployment("web")?.versions.map(\.manifest) == [try manifest("v5")])
                await node.redis.close()
                await store.redis.close()
            }
        }

        @Test("pause, resume and fail change the status with an event, and refuse changes that do not apply")
        func statusChanges() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                await #expect(throws: StoreError.self) {
                    try await store.change("web", .resume, reason: "x", at: Timestamp(milliseconds: 2))
                }
                #expect(try await store.change("web", .pause, reason: "investigating health", at: Timestamp(milliseconds: 2)) == .paused)
                await #expect(throws: StoreError.self) {
                    try await store.change("web", .pause, reason: "x", at: Timestamp(milliseconds: 3))
                }
                // Paused before it was ever checked: resumed, it is checked first (not Deploying unchecked).
                #expect(try await store.change("web", .resume, reason: "continue rollout", at: Timestamp(milliseconds: 3)) == .validating)
                #expect(
                    try await store.change("web", .fail, reason: "candidate failed health checks", at: Timestamp(milliseconds: 4))
                        == .failed)
                let record = try #require(try await store.deployment("web"))
                #expect(record.status == .failed)
                #expect(
                    record.events.suffix(3).map(\.message) == [
                        "paused: investigating health", "resumed: continue rollout", "failed: candidate failed health checks",
                    ])
                await #expect(throws: StoreError.self) {
                    try await store.change("nope", .pause, reason: "x", at: Timestamp(milliseconds: 5))
                }
                await store.redis.close()
            }
        }

        @Test("apply announces the change on the channel agents watch")
        func applyPublishes() async throws {
            try await RedisServer.with { server in
                var events = RedisSubscriber.subscribe(url: server.url, channels: [StoreKeys.changes]).makeAsyncIterator()
                #expect(await events.next() == .subscribed)
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                _ = try await store.apply(try manifest("v1"), to: "n1", at: Timestamp(milliseconds: 1))
                #expect(await events.next() == .message(channel: StoreKeys.changes, payload: Array("web".utf8)))
                await store.redis.close()
            }
        }

        @Test("concurrent applies of different manifests each get their own version number")
        func concurrentApplies() async throws {
            try await RedisServer.with { server in
                let manifests = try (1...8).map { try manifest("v\($0)") }
                let results = try await withThrowingTaskGroup(of: DeploymentStore.ApplyResult.self) { group in
                    for manifest in manifests {
                        group.addTask {
                            let store = DeploymentStore(redis: RedisClient(url: server.url))
                            let result = try await store.apply(manifest, to: "n1", at: Timestamp(milliseconds: 1))
                            await store.redis.close()
                            return result
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(Set(results.map(\.version)) == Set(1...8), "no version number given twice, none lost")
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                #expect(try await store.deployment("web")?.versions.count == 8)
                await store.redis.close()
            }
        }

        @Test("a node report round-trips")
        func reports() async throws {
            try await RedisServer.with { server in
                let store = DeploymentStore(redis: RedisClient(url: server.url))
                let report = NodeReport(
                    node: "n1", at: Timestamp(milliseconds: 5),
                    instances: [
                        .init(
                            id: InstanceID(key: "web", agent: "httpd", index: 0), version: 1, specHash: "abc",
                            phase: .failed(reason: "create: image not known", retryAt: Timestamp(milliseconds: 9)), container: "c1",
                            health: .healthy)
                    ],
                    records: [])
                try await store.write(report)
                #expect(try await store.report(of: "n1") == report)
                #expect(try await store.nodes() == ["n1": Timestamp(milliseconds: 5)])
                await store.redis.close()
            }
        }
    }
}
