import MNAgent
import MNCore
import MNReconcile
import MNReconcileTestSupport
import MNTestSupport

/// Drives the reconciler against the fake runtime the way the agent will: observe,
/// plan, execute, remember the records.
struct Loop {
    let runtime: FakeContainerRuntime
    var desired: [DesiredInstance]
    var records: [InstanceRecord] = []

    init(runtime: FakeContainerRuntime, desired: [DesiredInstance]) {
        self.runtime = runtime
        self.desired = desired
    }

    /// One pass at `now`; returns the plan after execution (failures recorded).
    mutating func tick(at now: Timestamp) async throws -> NodePlan {
        await runtime.setNow(now)
        let observed = try await runtime.listManaged()
        let plan = NodeReconciler.reconcile(.init(node: Fixture.node, desired: desired, observed: observed, records: records, now: now))
        let executed = await PlanExecutor(runtime: runtime).execute(plan).plan
        records = executed.records
        return executed
    }
}
