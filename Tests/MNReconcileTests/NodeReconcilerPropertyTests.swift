import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import PropertyBased
import Testing

@Suite("Node reconciler properties")
struct NodeReconcilerPropertyTests {
    /// Seeds a fake runtime with the scenario's containers, runs `plan` on it, and returns
    /// the runtime and the plan as executed.
    func apply(_ plan: NodePlan, to scenario: Scenario) async -> (FakeContainerRuntime, NodePlan) {
        let runtime = FakeContainerRuntime(now: scenario.now)
        await runtime.seed(scenario.observed)
        let (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        for outcome in outcomes where !outcome.succeeded {
            Issue.record("the fake refused \(outcome.action): \(String(describing: outcome.error))")
        }
        return (runtime, executed)
    }

    @Test("applying a plan to the fake runtime, then reconciling again, gives an empty plan")
    func convergesInOnePass() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let (runtime, executed) = await apply(plan, to: scenario)
            let observed = (try? await runtime.listManaged()) ?? []
            let again = NodeReconciler.reconcile(
                .init(
                    node: Fixture.node, desired: scenario.desired, observed: observed, records: executed.records, frozen: scenario.frozen,
                    now: scenario.now))
            #expect(again.actions.isEmpty, "second pass still acts: \(again.actions) for \(scenario)")
            let foreignBefore = scenario.observed.filter { !$0.isManaged(by: Fixture.node) }.sorted { $0.id < $1.id }
            let foreignAfter = await runtime.all.filter { !$0.isManaged(by: Fixture.node) }
            #expect(foreignAfter == foreignBefore, "foreign containers (or another node's) changed")
        }
    }

    @Test("the plan is identical under any order of the observed, desired and record lists")
    func orderIndependent() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let reordered = NodeReconciler.reconcile(
                .init(
                    node: Fixture.node, desired: scenario.shuffled.desired, observed: scenario.shuffled.observed,
                    records: scenario.shuffled.records, frozen: scenario.frozen, now: scenario.now))
            #expect(plan == reordered)
        }
    }

    @Test("a paused (frozen) deployment gets no action at all, whatever its containers look like")
    func frozenIsUntouched() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            var paused = scenario
            paused.frozen = ["alpha"]
            let plan = NodeReconciler.reconcile(paused.input)
            let touched = plan.actions.filter { action in
                action.instance?.key == "alpha"
                    || scenario.observed.contains { $0.id == action.containerID && $0.labels[ContainerLabel.deploymentKey] == "alpha" }
            }
            #expect(touched.isEmpty, "\(touched)")
        }
    }

    @Test("at most one action per container id")
    func oneActionPerContainer() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let ids = NodeReconciler.reconcile(scenario.input).actions.compactMap(\.containerID)
            #expect(Set(ids).count == ids.count, "\(ids)")
        }
    }

    @Test("a live container with a desired spec hash is never stopped (one per slot is kept)")
    func liveDesiredContainerIsKept() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let touched = Set(plan.actions.compactMap(\.containerID))
            for instance in scenario.desired where !scenario.frozen.contains(instance.id.key) {
                let live = scenario.observed.filter {
                    $0.isManaged(by: Fixture.node) && $0.instanceID == instance.id && $0.specHash == instance.specHash && $0.isAlive
                }
                guard !live.isEmpty else { continue }
                let kept = live.filter { !touched.contains($0.id) }
                #expect(kept.count == 1, "instance \(instance.id) keeps \(kept.count) of \(live.count) live containers")
                #expect(
                    !plan.actions.contains { $0.placedSlot?.instance == instance.id && $0.placedSlot?.specHash == instance.specHash },
                    "a kept slot was started or replaced again")
                if live.count == 1 { #expect(kept == live) }
            }
        }
    }

    @Test("every pending deadline shows up in requeueAfter: nothing is due before it, something is due at it")
    func requeueCoversEveryDeadline() async {
        await propertyCheck(count: 300, input: Gen.scenario) { scenario in
            let plan = NodeReconciler.reconcile(scenario.input)
            let (runtime, executed) = await apply(plan, to: scenario)
            let observed = (try? await runtime.listManaged()) ?? []
            func at(_ time: Timestamp, records: [InstanceRecord]) -> NodePlan {
                NodeReconciler.reconcile(
                    .init(
                        node: Fixture.node, desired: scenario.desired, observed: observed, records: records, frozen: scenario.frozen,
                        now: time))
            }
            let settled = at(scenario.now, records: executed.records)
            guard let due = settled.requeueAt else {
                let muchLater = at(scenario.now.adding(ms: 1_000_000_000), records: settled.records)
                #expect(muchLater.actions.isEmpty, "no requeue, yet later it acts: \(muchLater.actions)")
                return
            }
            #expect(due > scenario.now, "a deadline that is already due should have been acted on")
            let justBefore = at(due.adding(ms: -1), records: settled.records)
            #expect(justBefore.actions.isEmpty, "acts before requeueAt: \(justBefore.actions)")
            let atDue = at(due, records: settled.records)
            #expect(!atDue.actions.isEmpty, "nothing happens at requeueAt \(due)")
        }
    }
}
