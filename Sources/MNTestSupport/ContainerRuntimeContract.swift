public import MNAgent
import MNCore
public import MNReconcile

/// The behaviour mn relies on from any ``ContainerRuntime``. The fake and the real
/// runtimes run the same checks, so a test that passes on the fake means something.
public enum ContainerRuntimeContract {
    /// A broken promise, with what was expected.
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
    }

    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public var name: String
        public var run: @Sendable (any ContainerRuntime, _ request: StartContainer) async throws -> Void
        public var description: String { name }
    }

    /// A request for a fresh container named with `prefix`, running `image` (or an executable).
    public static func request(image: String, prefix: String, args: [String] = [], ports: [PortMapping] = []) -> StartContainer {
        let spec = AgentSpec(
            id: "contract", workload: .image(image), args: args, env: ["MN_CONTRACT": "1"], ports: ports,
            lifecycle: Lifecycle(stopSignal: "SIGTERM", gracePeriodMs: 2_000))
        var start = StartContainer(
            instance: DesiredInstance(key: DeploymentKey(prefix), spec: spec, index: 0, version: 1), node: "contract")
        start.name = "\(prefix)-contract"
        return start
    }

    /// An image no node has: the contract checks that it is reported absent and cannot be run.
    public static let absentImage = "localhost/mn-contract-absent:0"

    /// Every check; run each on a fresh request (fresh name).
    public static let checks: [Check] = [
        Check(name: "create makes a stopped container that list shows with its labels") { runtime, request in
            let id = try await runtime.create(request)
            let found = try await runtime.listManaged().first { $0.id == id }
            try expect(found != nil, "created container \(id) is not listed")
            try expect(found?.labels == request.labels, "labels differ: \(String(describing: found?.labels)) vs \(request.labels)")
            try expect(found?.name == request.name, "name differs: \(String(describing: found?.name))")
            try expect(found?.isAlive == false, "a created container must not be running")
            try expect(found?.instanceID == request.instance.id, "labels do not name the instance")
            try await runtime.remove(id)
        },
        Check(name: "start, stop and remove move a container through its states") { runtime, request in
            let id = try await runtime.create(request)
            try await runtime.start(id)
            let running = try await runtime.listManaged().first { $0.id == id }
            try expect(running?.state == .running, "after start the state is \(String(describing: running?.state))")
            try expect(running?.startedAt != nil, "a started container reports when it started")
            try await runtime.start(id)  // starting a running container is not an error
            try await runtime.stop(id, signal: "SIGTERM", gracePeriodMs: 2_000)
            let stopped = try await runtime.listManaged().first { $0.id == id }
            try expect(stopped?.state == .exited, "after stop the state is \(String(describing: stopped?.state))")
            try expect(stopped?.finishedAt != nil, "a stopped container reports when it exited")
            try await runtime.stop(id, signal: "SIGTERM", gracePeriodMs: 2_000)  // stopping a stopped container succeeds
            try await runtime.remove(id)
            let gone = try await runtime.listManaged().contains { $0.id == id }
            try expect(!gone, "a removed container is still listed")
        },
        Check(name: "an exited container starts again under the same id") { runtime, request in
            let id = try await runtime.create(request)
            try await runtime.start(id)
            try await runtime.stop(id, signal: "SIGTERM", gracePeriodMs: 2_000)
            try await runtime.start(id)
            let again = try await runtime.listManaged().first { $0.id == id }
            try expect(again?.state == .running, "restarted container is \(String(describing: again?.state))")
            try await runtime.stop(id, signal: "SIGTERM", gracePeriodMs: 2_000)
            try await runtime.remove(id)
        },
        Check(name: "a name in use cannot be created twice") { runtime, request in
            let id = try await runtime.create(request)
            var refused = false
            do { _ = try await runtime.create(request) } catch { refused = true }
            try await runtime.remove(id)
            try expect(refused, "a second container with the name \(request.name) was created")
        },
        Check(name: "calls on an unknown id fail, saying the container is unknown") { runtime, _ in
            let unknown = ContainerID("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            var wrong: [String] = []
            func check(_ operation: String, _ call: () async throws -> Void) async {
                do {
                    try await call()
                    wrong.append("\(operation) succeeded")
                } catch let error as RuntimeError {
                    if !error.isNoSuchContainer { wrong.append("\(operation) failed without saying the container is unknown: \(error)") }
                } catch {
                    wrong.append("\(operation) threw \(error), not a RuntimeError")
                }
            }
            await check("start") { try await runtime.start(unknown) }
            await check("stop") { try await runtime.stop(unknown, signal: "SIGTERM", gracePeriodMs: 0) }
            await check("remove") { try await runtime.remove(unknown) }
            try expect(wrong.isEmpty, wrong.joined(separator: "; "))
        },
        Check(name: "an image on the node exists, an absent one does not and cannot be created") { runtime, request in
            guard case .image(let image) = request.instance.spec.workload else { throw Violation(description: "the request runs no image") }
            try expect(try await runtime.imageExists(image), "the request's image \(image) is reported absent")
            try expect(try await !runtime.imageExists(absentImage), "\(absentImage) is reported present")
            var absent = request
            absent.instance.spec.workload = .image(absentImage)
            var created: ContainerID?
            do { created = try await runtime.create(absent) } catch {}
            if let created { try await runtime.remove(created) }
            try expect(created == nil, "a container of an absent image was created")
        },
        Check(name: "a running container cannot be removed before it is stopped") { runtime, request in
            let id = try await runtime.create(request)
            try await runtime.start(id)
            var refused = false
            do { try await runtime.remove(id) } catch { refused = true }
            try await runtime.stop(id, signal: "SIGTERM", gracePeriodMs: 2_000)
            try await runtime.remove(id)
            try expect(refused, "a running container was removed without a stop")
        },
        Check(name: "ports without a fixed host port get distinct free host ports, the same at every list") { runtime, request in
            var first = request
            first.instance.spec.ports = [PortMapping(name: "http", containerPort: 8080)]
            var second = first
            second.name += "-2"
            second.instance.id = InstanceID(key: first.instance.id.key, agent: first.instance.id.agent, index: 1)
            let ids = [try await runtime.create(first), try await runtime.create(second)]
            for id in ids { try await runtime.start(id) }
            let listed = try await runtime.listManaged()
            let ports = ids.map { id in listed.first { $0.id == id }?.ports.first { $0.containerPort == 8080 }?.hostPort ?? 0 }
            let again = try await runtime.listManaged()
            let portsAgain = ids.map { id in again.first { $0.id == id }?.ports.first { $0.containerPort == 8080 }?.hostPort ?? 0 }
            for id in ids {
                try await runtime.stop(id, signal: "SIGKILL", gracePeriodMs: 0)
                try await runtime.remove(id)
            }
            try expect(ports.allSatisfy { $0 > 0 }, "a dynamic port was not reported: \(ports)")
            try expect(ports[0] != ports[1], "two containers share host port \(ports[0])")
            try expect(ports == portsAgain, "the host ports changed between lists: \(ports) then \(portsAgain)")
        },
        Check(name: "a start whose dynamic host port was taken since create fails saying so, and removes the container") { runtime, request in
            var start = request
            start.instance.spec.ports = [PortMapping(name: "http", containerPort: 8080)]
            let id = try await runtime.create(start)
            guard let port = try await runtime.listManaged().first(where: { $0.id == id })?.ports.first?.hostPort,
                let holder = PortHolder(port: port)
            else {
                try await runtime.remove(id)
                throw Violation(description: "created container \(id) reports no host port, or it could not be held")
            }
            defer { holder.close() }
            var failure: RuntimeError?
            do { try await runtime.start(id) } catch let error as RuntimeError { failure = error }
            let left = try await runtime.listManaged().first { $0.id == id }
            if let left {
                try? await runtime.stop(left.id, signal: "SIGKILL", gracePeriodMs: 0)
                try? await runtime.remove(left.id)
            }
            try expect(failure?.isPortTaken == true, "the start did not fail as port taken: \(String(describing: failure))")
            try expect(left == nil, "the container whose port was taken is still there")
        },
    ]

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Violation(description: message()) }
    }
}
