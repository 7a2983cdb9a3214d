import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@Suite("ContainerRuntime contract")
struct ContainerRuntimeContractTests {
    @Test("the fake runtime keeps the contract", arguments: ContainerRuntimeContract.checks)
    func fakeKeepsContract(_ check: ContainerRuntimeContract.Check) async throws {
        let runtime = FakeContainerRuntime(images: ["localhost/mn-test:1"])
        try await check.run(runtime, ContainerRuntimeContract.request(image: "localhost/mn-test:1", prefix: "fake"))
    }

    @Test("the contract catches a runtime that breaks it")
    func contractCanFail() async throws {
        // A runtime that forgets labels must be caught by the first check.
        struct LabelDropping: ContainerRuntime {
            let inner = FakeContainerRuntime()
            func listManaged() async throws -> [ObservedContainer] {
                try await inner.listManaged().map {
                    var c = $0
                    c.labels[ContainerLabel.role] = nil
                    return c
                }
            }
            func create(_ request: StartContainer) async throws -> ContainerID { try await inner.create(request) }
            func start(_ id: ContainerID) async throws { try await inner.start(id) }
            func stop(_ id: ContainerID, signal: String, gracePeriodMs: Int) async throws {
                try await inner.stop(id, signal: signal, gracePeriodMs: gracePeriodMs)
            }
            func remove(_ id: ContainerID) async throws { try await inner.remove(id) }
            func imageExists(_ reference: String) async throws -> Bool { try await inner.imageExists(reference) }
        }
        let check = try #require(ContainerRuntimeContract.checks.first)
        await #expect(throws: ContainerRuntimeContract.Violation.self) {
            try await check.run(LabelDropping(), ContainerRuntimeContract.request(image: "i", prefix: "bad"))
        }
    }
}
