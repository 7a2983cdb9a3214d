public import MNCore
public import MNReconcile

/// What happened to one action.
public struct ActionOutcome: Hashable, Sendable {
    public var action: NodeAction
    /// The container the action created, if it created one.
    public var created: ContainerID?
    /// The runtime's error, if the action failed.
    public var error: RuntimeError?

    /// Whether the action completed.
    public var succeeded: Bool { error == nil }
}

/// Runs a ``NodePlan``'s actions through a ``ContainerRuntime``, in the plan's order.
///
/// A failed action is recorded in the returned plan (the instance is Failed with the
/// runtime's message) and the next actions still run: roll-forward, never revert.
public struct PlanExecutor<Runtime: ContainerRuntime>: Sendable {
    public let runtime: Runtime

    /// Creates an executor over `runtime`.
    public init(runtime: Runtime) { self.runtime = runtime }

    /// Executes every action of `plan`.
    /// - Returns: Each action's outcome, and the plan updated with any failures.
    public func execute(_ plan: NodePlan) async -> (outcomes: [ActionOutcome], plan: NodePlan) {
        var outcomes: [ActionOutcome] = []
        var result = plan
        for action in plan.actions {
            var outcome = ActionOutcome(action: action)
            do {
                outcome.created = try await perform(action)
            } catch {
                let runtimeError = error as? RuntimeError ?? RuntimeError(operation: "runtime", message: "\(error)")
                outcome.error = runtimeError
                if let slot = action.placedSlot {
                    result = result.recordingFailure(
                        of: slot.instance, specHash: slot.specHash, message: runtimeError.description, at: plan.now)
                }
            }
            outcomes.append(outcome)
        }
        return (outcomes, result)
    }

    private func perform(_ action: NodeAction) async throws -> ContainerID? {
        switch action {
        case .start(let start):
            return try await createAndStart(start)
        case .restart(let restart):
            try await runtime.start(restart.container)
            return nil
        case .replace(let replace):
            try await stopAndRemove(replace.old)
            return try await createAndStart(replace.new)
        case .stop(let stop):
            try await stopAndRemove(stop)
            return nil
        }
    }

    private func createAndStart(_ start: StartContainer) async throws -> ContainerID {
        let id = try await runtime.create(start)
        try await runtime.start(id)
        return id
    }

    /// Stops and removes by id; a container that is already gone counts as done.
    private func stopAndRemove(_ stop: StopContainer) async throws {
        do {
            try await runtime.stop(stop.container, signal: stop.signal, gracePeriodMs: stop.gracePeriodMs)
            try await runtime.remove(stop.container)
        } catch let error as RuntimeError where error.isNoSuchContainer {
            return
        }
    }
}
