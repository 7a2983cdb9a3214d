public import MNCore
public import MNReconcile

/// What the agent needs from a container runtime (podman, or a fake in tests).
///
/// Containers are always named by id after creation. Every implementation must pass
/// the shared contract suite in `MNTestSupport` (`ContainerRuntimeContract`).
public protocol ContainerRuntime: Sendable {
    /// Every container that carries mn's labels (``MNCore/ContainerLabel/deploymentKey``), in any state.
    func listManaged() async throws -> [ObservedContainer]

    /// Creates (but does not start) a container for `request`, with its name and labels; a port
    /// without a fixed host port gets a free one of the node, reported by ``listManaged()``.
    /// - Returns: The new container's id.
    func create(_ request: StartContainer) async throws -> ContainerID

    /// Starts a created or exited container. A start that fails because a published host port
    /// is taken (``RuntimeError/isPortTaken``) removes the container.
    func start(_ id: ContainerID) async throws

    /// Sends `signal`, waits up to `gracePeriodMs`, then kills. Stopping a container that
    /// is not running succeeds.
    func stop(_ id: ContainerID, signal: String, gracePeriodMs: Int) async throws

    /// Removes a container that is not running.
    func remove(_ id: ContainerID) async throws

    /// Whether the image `reference` is on this node (nothing is pulled).
    func imageExists(_ reference: String) async throws -> Bool

    /// Fires whenever a container of `node` changes state (exits, is killed, starts), so the
    /// agent looks at once instead of at its next resync. Ends when the consumer stops.
    func changes(on node: NodeID) -> AsyncStream<Void>
}

extension ContainerRuntime {
    /// A runtime that cannot announce changes: the agent relies on its resync.
    public func changes(on node: NodeID) -> AsyncStream<Void> {
        AsyncStream { _ in }
    }
}

/// A runtime call that failed, with the runtime's own words.
public struct RuntimeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The call that failed (`create`, `start`, …).
    public var operation: String
    /// The container, if the call named one.
    public var container: ContainerID?
    /// What the runtime said.
    public var message: String
    /// The call named a container the runtime does not have.
    public var isNoSuchContainer: Bool

    /// Creates a runtime error.
    public init(operation: String, container: ContainerID? = nil, message: String, isNoSuchContainer: Bool = false) {
        self.operation = operation
        self.container = container
        self.message = message
        self.isNoSuchContainer = isNoSuchContainer
    }

    /// A start failed because a host port the container publishes is held by someone else
    /// (the runtime removed that container; creating it again picks another dynamic port).
    public var isPortTaken: Bool { operation == "start" && message.localizedCaseInsensitiveContains("address already in use") }

    public var description: String {
        if let container { return "\(operation) \(container.rawValue.prefix(12)): \(message)" }
        return "\(operation): \(message)"
    }
}
