import Foundation
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@testable import MNAgent

extension RealProcesses {
    @Suite("ContainerRuntime contract on real podman", .serialized)
    struct PodmanRuntimeContractTests {
        @Test("PodmanRuntime keeps the same contract as the fake", arguments: ContainerRuntimeContract.checks)
        func podmanKeepsContract(_ check: ContainerRuntimeContract.Check) async throws {
            let podman = try await PodmanService.start()
            let prefix = "contract-\(UUID().uuidString.prefix(6).lowercased())"
            do {
                try await check.run(
                    podman.runtime,
                    ContainerRuntimeContract.request(image: PodmanService.testImage, prefix: prefix, args: ["sleep", "600"]))
            } catch {
                await podman.stop(removingContainersOf: prefix)
                throw error
            }
            await podman.stop(removingContainersOf: prefix)
        }

        @Test("a create spec bakes in labels, stop signal and grace, init, and the node's rlimits")
        func createSpec() throws {
            let spec = AgentSpec(
                id: "web", workload: .image("localhost/x:1"), args: ["httpd", "-f"], env: ["A": "1"],
                ports: [PortMapping(name: "http", containerPort: 8080, hostPort: 18080)],
                lifecycle: Lifecycle(stopSignal: "SIGINT", gracePeriodMs: 2_500))
            let start = StartContainer(instance: DesiredInstance(key: "shop", spec: spec, index: 0, version: 3), node: "n1")
            let runtime = PodmanRuntime(
                socketPath: "/nonexistent", config: NodeConfig(network: "none", rlimits: [.init(type: "nofile", soft: 1024, hard: 20000)]))
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(runtime.createSpec(for: start)))
            guard case .object(let fields) = body else {
                Issue.record("not an object")
                return
            }
            #expect(fields["stop_signal"] == .integer(2))
            #expect(fields["stop_timeout"] == .integer(3))
            #expect(fields["init"] == .bool(true))
            #expect(fields["command"] == .array([.string("httpd"), .string("-f")]))
            #expect(fields["netns"] == .object(["nsmode": .string("none")]))
            #expect(fields["r_limits"] == .array([.object(["type": .string("nofile"), "soft": .integer(1024), "hard": .integer(20000)])]))
            guard case .object(let labels)? = fields["labels"] else {
                Issue.record("no labels")
                return
            }
            #expect(labels["mn.spec-hash"] == .string(start.instance.specHash.rawValue))
            #expect(labels["mn.deployment.version"] == .string("3"))
            #expect(fields["devices"] == nil)
            #expect(fields["env"] == .object(["A": .string("1")]))
        }

        @Test("allocated devices reach the container: GPUs by their CDI name, all of them in MN_DEVICE_IDS; too few is refused")
        func devices() throws {
            let spec = AgentSpec(
                id: "embed", workload: .image("localhost/x:1"), env: ["A": "1"],
                resources: Resources(cpuMillis: nil, memoryMB: nil, devices: [DeviceRequest(kind: "gpu", driver: "cuda", count: 2)]))
            let runtime = PodmanRuntime(socketPath: "/nonexistent", config: NodeConfig(network: "none", rlimits: []))
            let start = StartContainer(
                instance: DesiredInstance(key: "shop", spec: spec, index: 0, version: 1, devices: ["0", "3"]), node: "n1")
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(runtime.createSpec(for: start)))
            guard case .object(let fields) = body else {
                Issue.record("not an object")
                return
            }
            #expect(fields["devices"] == .array([.object(["path": .string("nvidia.com/gpu=0")]), .object(["path": .string("nvidia.com/gpu=3")])]))
            #expect(fields["env"] == .object(["A": .string("1"), "MN_DEVICE_IDS": .string("0,3")]))

            let short = StartContainer(instance: DesiredInstance(key: "shop", spec: spec, index: 0, version: 1, devices: ["0"]), node: "n1")
            #expect(throws: RuntimeError.self) { try runtime.createSpec(for: short) }
        }
    }
}
