public import MNAgent
public import MNCore
public import MNReconcile

/// An in-memory ``ContainerRuntime`` that behaves like podman's API where mn relies on it,
/// logs every call, and can be told to fail a given call.
///
/// It passes ``ContainerRuntimeContract``, the same checks the real runtime must pass.
public actor FakeContainerRuntime: ContainerRuntime {
    /// A call, as logged.
    public enum Call: Hashable, Sendable {
        case list
        case create(name: String)
        case start(ContainerID)
        case stop(ContainerID, signal: String, gracePeriodMs: Int)
        case remove(ContainerID)
    }

    /// The kinds of call a fault can target.
    public enum Operation: String, Hashable, Sendable { case list, create, start, stop, remove }

    private var containers: [ContainerID: ObservedContainer] = [:]
    private var images: [ContainerID: String] = [:]
    /// The fixed host ports each container's spec gave (the others are dynamic).
    private var fixedPorts: [ContainerID: Set<Int>] = [:]
    private var nextID = 1
    private var faults: [(operation: Operation, image: String?, message: String, remaining: Int)] = []

    /// How long a stop of a running container takes (its grace period, as podman would wait it out).
    private var stopLatencyMs: Int64 = 0
    private var stopsInFlight = 0
    /// The most stops that were in progress at once.
    public private(set) var maxStopsInFlight = 0

    /// Every call received, in order.
    public private(set) var calls: [Call] = []
    /// The time the fake stamps on starts and exits.
    public var now: Timestamp

    /// The images on the node; `nil` means every image is.
    private var presentImages: Set<String>?
    /// Starts still to fail as if another process took their dynamic host port.
    private var portsToTake = 0
    /// Creates, starts, stops and removes still to complete before every call freezes.
    private var mutationsBeforeFreeze: Int?
    private var frozen = false
    /// Calls suspended for good by a freeze (the agent that made them "died" there).
    private var parked: [CheckedContinuation<Void, Never>] = []
    /// How many calls a freeze has suspended.
    public private(set) var frozenCalls = 0

    /// Creates an empty runtime whose clock reads `now`, holding `images` (every image when `nil`).
    public init(now: Timestamp = Timestamp(milliseconds: 0), images: Set<String>? = nil) {
        self.now = now
        self.presentImages = images
    }

    // MARK: Test controls

    /// Puts containers in place as if they already existed (mn's or foreign).
    public func seed(_ existing: [ObservedContainer]) {
        for container in existing { containers[container.id] = container }
    }

    /// Moves the clock.
    public func setNow(_ time: Timestamp) { now = time }

    /// Makes the next `times` calls of `operation` fail with `message`; for `create` and
    /// `start`, only calls for containers of `image`, when given.
    public func fail(_ operation: Operation, image: String? = nil, times: Int = 1, message: String = "injected failure") {
        faults.append((operation, image, message, times))
    }

    /// Ends a running container's process as a crash would.
    public func kill(_ id: ContainerID, exitCode: Int = 137) {
        guard var container = containers[id], container.isAlive else { return }
        container.state = .exited
        container.exitCode = exitCode
        container.finishedAt = now
        containers[id] = container
    }

    /// Every container, mn's and foreign, sorted by id.
    public var all: [ObservedContainer] { containers.values.sorted { $0.id < $1.id } }

    /// Makes every stop of a running container take `ms` milliseconds.
    public func setStopLatency(ms: Int64) { stopLatencyMs = ms }

    /// Makes the next `times` starts of containers with a dynamic host port fail as podman's
    /// do when another process took that port since create: the container is removed.
    public func takeDynamicPorts(times: Int = 1) { portsToTake += times }

    /// Forgets the call log.
    public func clearCalls() { calls.removeAll() }

    /// A `kill -9` between two runtime calls: once `mutations` more creates, starts, stops or
    /// removes have completed (0: at once), every later call suspends for good, as the next
    /// call of a process that died there would never come; ``frozenCalls`` counts them. A
    /// test then drops that agent and starts another after ``thaw()``.
    public func freeze(afterMutations mutations: Int) {
        if mutations == 0 { frozen = true } else { mutationsBeforeFreeze = mutations }
    }

    /// Lets calls made from now on through (the suspended ones stay suspended).
    public func thaw() {
        frozen = false
        mutationsBeforeFreeze = nil
    }

    private func gate() async {
        guard frozen else { return }
        frozenCalls += 1
        await withCheckedContinuation { parked.append($0) }
    }

    private func mutationCompleted() {
        guard let left = mutationsBeforeFreeze else { return }
        if left <= 1 {
            frozen = true
            mutationsBeforeFreeze = nil
        } else {
            mutationsBeforeFreeze = left - 1
        }
    }

    // MARK: ContainerRuntime

    public func listManaged() async throws -> [ObservedContainer] {
        await gate()
        calls.append(.list)
        try injectFault(.list, image: nil)
        return containers.values.filter(\.isManaged).sorted { $0.id < $1.id }
    }

    public func create(_ request: StartContainer) async throws -> ContainerID {
        await gate()
        defer { mutationCompleted() }
        calls.append(.create(name: request.name))
        let image: String =
            switch request.instance.spec.workload {
            case .image(let image): image
            case .exec(let path): path
            }
        try injectFault(.create, image: image)
        if case .image = request.instance.spec.workload, presentImages?.contains(image) == false {
            throw RuntimeError(operation: "create", message: "\(image): image not known")
        }
        if containers.values.contains(where: { $0.name == request.name }) {
            throw RuntimeError(operation: "create", message: "the container name \"\(request.name)\" is already in use")
        }
        let id = ContainerID(String(repeating: "0", count: 8) + String(nextID, radix: 16).leftPadded(to: 8))
        nextID += 1
        // Like podman's: a fixed host port as given, a dynamic one free on this machine at create.
        let ports = request.instance.spec.ports.map { port in
            PublishedPort(
                containerPort: port.containerPort, hostPort: port.hostPort ?? HostPorts.free(port.transport) ?? 0,
                transport: port.transport)
        }
        containers[id] = ObservedContainer(id: id, name: request.name, labels: request.labels, state: .created, ports: ports)
        images[id] = image
        fixedPorts[id] = Set(request.instance.spec.ports.compactMap(\.hostPort))
        return id
    }

    public func start(_ id: ContainerID) async throws {
        await gate()
        defer { mutationCompleted() }
        calls.append(.start(id))
        guard var container = containers[id] else { throw noSuchContainer("start", id) }
        try injectFault(.start, image: images[id])
        guard !container.isAlive else { return }
        let dynamic = container.ports.filter { !(fixedPorts[id] ?? []).contains($0.hostPort) }
        if let taken = dynamic.first(where: { portsToTake > 0 || !HostPorts.isFree(HostPort($0.hostPort, $0.transport)) }) {
            portsToTake = max(0, portsToTake - 1)
            containers[id] = nil
            images[id] = nil
            fixedPorts[id] = nil
            throw RuntimeError(
                operation: "start", container: id,
                message: "cannot listen on the TCP port: listen tcp4 :\(taken.hostPort): bind: address already in use")
        }
        container.state = .running
        container.exitCode = nil
        container.startedAt = now
        containers[id] = container
    }

    public func stop(_ id: ContainerID, signal: String, gracePeriodMs: Int) async throws {
        await gate()
        defer { mutationCompleted() }
        calls.append(.stop(id, signal: signal, gracePeriodMs: gracePeriodMs))
        guard var container = containers[id] else { throw noSuchContainer("stop", id) }
        try injectFault(.stop, image: nil)
        guard container.isAlive else { return }
        if stopLatencyMs > 0 {
            stopsInFlight += 1
            maxStopsInFlight = max(maxStopsInFlight, stopsInFlight)
            try? await Task.sleep(for: .milliseconds(stopLatencyMs))
            stopsInFlight -= 1
            container = containers[id] ?? container
        }
        container.state = .exited
        container.exitCode = 143
        container.finishedAt = now
        containers[id] = container
    }

    public func remove(_ id: ContainerID) async throws {
        await gate()
        defer { mutationCompleted() }
        calls.append(.remove(id))
        guard let container = containers[id] else { throw noSuchContainer("remove", id) }
        try injectFault(.remove, image: nil)
        guard !container.isAlive else {
            throw RuntimeError(operation: "remove", container: id, message: "container is running; stop it first")
        }
        containers[id] = nil
        images[id] = nil
        fixedPorts[id] = nil
    }

    public func imageExists(_ reference: String) async throws -> Bool {
        await gate()
        return presentImages?.contains(reference) ?? true
    }

    private func noSuchContainer(_ operation: String, _ id: ContainerID) -> RuntimeError {
        RuntimeError(operation: operation, container: id, message: "no such container", isNoSuchContainer: true)
    }

    private func injectFault(_ operation: Operation, image: String?) throws {
        guard
            let index = faults.firstIndex(where: {
                $0.operation == operation && $0.remaining > 0 && ($0.image == nil || $0.image == image)
            })
        else { return }
        faults[index].remaining -= 1
        throw RuntimeError(operation: operation.rawValue, message: faults[index].message)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
