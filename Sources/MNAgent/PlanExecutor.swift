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

/// Runs a ``NodePlan``'s actions through a ``ContainerRuntime``, up to `concurrency` at once.
///
/// Actions may run side by side because the node reconciler never gives two actions the same
/// container or the same slot, and an in-place replacement (stop, then start on the same host
/// port) is one action. Outcomes come back in the plan's order. A failed action is recorded in
/// the returned plan (the instance is Failed with the runtime's message) and the other actions
/// still run: roll-forward, never revert.
public struct PlanExecutor<Runtime: ContainerRuntime>: Sendable {
    public let runtime: Runtime
    /// The most actions in flight at once (a batch of `max_parallel` stops waits for the
    /// longest grace period, not for their sum).
    public let concurrency: Int

    /// Creates an executor over `runtime`.
    public init(runtime: Runtime, concurrency: Int = 8) {
        self.runtime = runtime
        self.concurrency = max(1, concurrency)
    }

    /// Executes every action of `plan`.
    /// - Returns: Each action's outcome, in the plan's order, and the plan updated with any failures.
    public func execute(_ plan: NodePlan) async -> (outcomes: [ActionOutcome], plan: NodePlan) {
        var outcomes = plan.actions.map { ActionOutcome(action: $0) }
        await withTaskGroup(of: Completion.self) { group in
            var next = 0
            func launch() {
                let index = next
                let action = plan.actions[index]
                next += 1
                group.addTask { await run(action, index: index) }
            }
            while next < min(concurrency, plan.actions.count) { launch() }
            for await completion in group {
                outcomes[completion.index].created = completion.created
                outcomes[completion.index].error = completion.error
                if next < plan.actions.count { launch() }
            }
        }
        var result = plan
        for outcome in outcomes {
            if let error = outcome.error, let slot = outcome.action.placedSlot {
                result = result.recordingFailure(of: slot.instance, specHash: slot.specHash, message: error.description, at: plan.now)
            }
        }
        return (outcomes, result)
    }

    /// What a child task of ``execute(_:)`` hands back: which action, and what came of it.
    private struct Completion: Sendable {
        var index: Int
        var created: ContainerID?
        var error: RuntimeError?
    }

    /// Runs one action and says how it went.
    ///
    /// Swift 6.3.1's optimiser (-O, -Osize; not -Onone) miscompiles a task-group child that
    /// returns a tuple built around the `try await` itself, as in
    /// `do { return (index, .success(try await perform(action))) } catch { return (index, .failure(error)) }`
    /// with children of type `(Int, Result<ContainerID?, any Error>)`: every successful child
    /// came back with index 0, so a release mnagent wrote outcomes to the wrong actions and died
    /// of an out-of-range index at its first plan. Await into a local first, then build a
    /// struct. docs/compiler-bugs/task-group-tuple-result.md has an 11-line reproducer; the
    /// release checks in scripts/test.sh (mn-release-checks) catch the pattern coming back.
    private func run(_ action: NodeAction, index: Int) async -> Completion {
        let created: ContainerID?
        do {
            created = try await perform(action)
        } catch {
            return Completion(
                index: index, created: nil,
                error: error as? RuntimeError ?? RuntimeError(operation: "runtime", message: "\(error)"))
        }
        return Completion(index: index, created: created, error: nil)
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

    /// Creates and starts; a dynamic host port taken between create and start (the runtime
    /// removed that container) means a new create, which picks another, up to three times.
    private func createAndStart(_ start: StartContainer) async throws -> ContainerID {
        var attempt = 1
        while true {
            let id = try await runtime.create(start)
            do {
                try await runtime.start(id)
                return id
            } catch let error as RuntimeError where error.isPortTaken && attempt < 3 {
                attempt += 1
            }
        }
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
