import Foundation
import Logging
import MNCore
import MNTestSupport
import Testing

@testable import MNAgent

@Suite("Node facts and the agent config")
struct NodeFactsTests {
    func config(_ json: String) throws -> NodeConfig { try JSONDecoder().decode(NodeConfig.self, from: Data(json.utf8)) }

    func problem(_ json: String) -> String {
        do {
            _ = try config(json)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("the agent config sets address, meta, capacity, devices and the heartbeat TTL; all optional")
    func fullConfig() throws {
        let parsed = try config(
            #"{"address":"10.0.0.5","meta":{"rack":"r1"},"capacity":{"cpu_millis":6000},"devices":[{"id":"0","kind":"gpu","driver":"cuda","memory_mb":40960}],"heartbeat_ttl_ms":9000}"#
        )
        #expect(parsed.address == "10.0.0.5" && parsed.meta == ["rack": "r1"] && parsed.heartbeatTTLMs == 9_000)
        #expect(parsed.capacity == .init(cpuMillis: 6_000, memoryMB: nil))
        #expect(parsed.devices == [NodeDevice(id: "0", kind: "gpu", driver: "cuda", memoryMB: 40_960)])
        let empty = try config("{}")
        #expect(empty == .defaults && empty.heartbeatTTLMs == 15_000)
    }

    @Test("bad node settings are refused, naming the setting", arguments: [
        (#"{"meta":{"":"x"}}"#, "meta keys must be non-empty words"),
        (#"{"capacity":{"memory_mb":0}}"#, "capacity.memory_mb must be at least 1, got 0"),
        (#"{"devices":[{"id":"0","kind":"gpu"},{"id":"0","kind":"gpu"}]}"#, "device id '0' is listed twice"),
        (#"{"heartbeat_ttl_ms":50}"#, "heartbeat_ttl_ms must be at least 300, got 50"),
        (#"{"address":"my host"}"#, "address must be a host name or IP address"),
    ])
    func badConfig(json: String, expected: String) {
        #expect(problem(json).contains(expected), "\(problem(json))")
    }

    @Test("memory from /proc/meminfo, the default route's interface, GPUs from nvidia-smi's CSV")
    func parsers() {
        #expect(HostFacts.memoryMB(meminfo: "MemTotal:       24683520 kB\nMemFree:        1 kB\n") == 24_105)
        #expect(HostFacts.memoryMB(meminfo: "MemFree: 1 kB\n") == nil)
        let routes = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask
            eth1\t0000D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF
            eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000
            """
        #expect(HostFacts.defaultRouteInterface(routeTable: routes) == "eth0")
        let smi = "0, NVIDIA A100-SXM4-40GB, 40960, 535.104.05\n1, NVIDIA A100-SXM4-40GB, 40960, 535.104.05\n"
        #expect(
            HostFacts.gpus(nvidiaSMI: smi) == [
                NodeDevice(id: "0", kind: "gpu", driver: "cuda", name: "NVIDIA A100-SXM4-40GB", memoryMB: 40_960),
                NodeDevice(id: "1", kind: "gpu", driver: "cuda", name: "NVIDIA A100-SXM4-40GB", memoryMB: 40_960),
            ])
        #expect(HostFacts.gpus(nvidiaSMI: "No devices were found\n").isEmpty)
    }

    @Test("this host's facts are read: CPUs, memory, an architecture")
    func thisHost() async {
        let info = await HostFacts.nodeInfo("here", config: NodeConfig(network: "none", rlimits: [], meta: ["rack": "r9"]), address: nil)
        #expect(info.capacity.cpuMillis >= 1_000 && info.capacity.memoryMB > 0 && !info.arch.isEmpty && !info.address.isEmpty)
        #expect(info.meta == ["rack": "r9"] && info.value(of: .meta("rack")) == "r9")
        let pinned = await HostFacts.nodeInfo(
            "here", config: NodeConfig(network: "none", rlimits: [], address: "10.1.1.1", capacity: .init(cpuMillis: 500)), address: "10.2.2.2")
        #expect(pinned.address == "10.2.2.2" && pinned.capacity.cpuMillis == 500)
    }
}

extension RealProcesses {
    @Suite("Node registry against a real redis-server", .serialized)
    struct NodeRegistryTests {
        func node(_ id: String) -> NodeInfo {
            NodeInfo(id: NodeID(id), address: "10.0.0.\(id.count)", capacity: NodeCapacity(cpuMillis: 2_000, memoryMB: 4_096))
        }

        @Test("registered nodes are listed by id, ready while they heartbeat and down once the heartbeat expires")
        func readyAndDown() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let registry = NodeRegistry(redis: redis)
                #expect(try await registry.entries().isEmpty)
                try await registry.register(node("b"), ttl: .seconds(30))
                try await registry.register(node("a"), ttl: .seconds(30))
                let entries = try await registry.entries()
                #expect(entries.map(\.info) == [node("a"), node("b")] && entries.map(\.ready) == [true, true])
                // When each heartbeat expires, on Redis's clock (this host's too): about 30 s ahead.
                let now = Timestamp.now()
                #expect(entries.allSatisfy { ($0.expires?.milliseconds(since: now) ?? 0) > 25_000 }, "\(entries.map(\.expires))")

                // b stops heartbeating: its alive key expires (early here); its expiry stays readable.
                try await redis.run("PEXPIRE", StoreKeys.nodeAlive("b"), "1")
                try await eventually("b is down", seconds: 5) { try await registry.entries().last?.ready == false }
                let down = try await registry.entries()
                #expect(down.first?.ready == true)
                #expect(down.last?.expires != nil, "the expiry of a node that is down was not kept")

                // A heartbeat brings it back.
                #expect(try await registry.heartbeat("b", ttl: .seconds(30)))
                #expect(try await registry.entries().map(\.ready) == [true, true])
                await redis.close()
            }
        }

        @Test("a heartbeat says when the registration was lost, and the heartbeat service registers again")
        func reRegisters() async throws {
            try await RedisServer.with { server in
                let redis = RedisClient(url: server.url)
                let registry = NodeRegistry(redis: redis)
                try await registry.register(node("a"), ttl: .seconds(30))
                try await redis.run("DEL", StoreKeys.nodeInfo("a"))
                #expect(try await !registry.heartbeat("a", ttl: .seconds(30)), "a lost registration went unnoticed")
                try await redis.run("FLUSHALL")

                let heartbeat = NodeHeartbeat(registry: registry, info: node("a"), ttl: .milliseconds(600), logger: Logger(label: "test"))
                let task = Task { try await heartbeat.run() }
                try await eventually("a registered", seconds: 10) { try await registry.entries().map(\.info.id) == ["a"] }
                try await redis.run("DEL", StoreKeys.nodeInfo("a"))
                try await eventually("a registered again", seconds: 10) { try await registry.entries().map(\.info.id) == ["a"] }
                task.cancel()
                _ = try? await task.value
                await redis.close()
            }
        }
    }
}
