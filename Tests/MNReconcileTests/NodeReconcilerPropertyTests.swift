import MNCore
import MNReconcile
import MNReconcileGenerators
import MNReconcileTestSupport
import PropertyBased
import Testing

@Suite("Node reconciler properties")
struct NodeReconcilerPropertyTests {
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
                    !plan.actions.contains { $0.placedSlot == instance.slot },
                    "a kept slot was started or replaced again")
                if live.count == 1 { #expect(kept == live) }
            }
        }
    }
}
