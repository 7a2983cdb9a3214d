import MNCore
import MNReconcile
import MNReconcileTestSupport
import Testing

@Suite("requires_services on the node (seed 002)")
struct NodeRequiredServicesTests {
    static func worker(_ requirements: [ServiceRequirement], image: String = "localhost/worker:1") -> DesiredInstance {
        var spec = Fixture.spec("worker", image: image)
        spec.requiresServices = requirements
        return Fixture.desired(spec)
    }

    static func reconcile(
        _ desired: [DesiredInstance], _ observed: [ObservedContainer] = [], services: ServiceAvailability?, records: [InstanceRecord] = []
    ) -> NodePlan {
        NodeReconciler.reconcile(
            .init(node: Fixture.node, desired: desired, observed: observed, records: records, now: Fixture.t0, services: services))
    }

    @Test("an instance whose required service has no passing instance waits, saying for what; it starts in the pass that sees one")
    func waitsThenStarts() {
        let worker = Self.worker([ServiceRequirement(name: "db", tags: ["primary"])])
        let none = Self.reconcile([worker], services: ServiceAvailability(passing: [("db", ["replica"])]))
        #expect(none.actions.isEmpty)
        #expect(none.instances.map(\.phase) == [.waiting(reason: "waiting for service db (tags: primary): no passing instance")])
        let passing = Self.reconcile([worker], services: ServiceAvailability(passing: [("db", ["primary", "eu"])]), records: none.records)
        #expect(passing.actions == [.start(StartContainer(instance: worker, node: Fixture.node))])
        #expect(passing.instances.map(\.phase) == [.pending])
    }

    @Test("an optional service (required: false) does not hold the start; nothing waits when no requirement was read")
    func optionalAndUnread() {
        let optional = Self.worker([ServiceRequirement(name: "cache", required: false)])
        #expect(Self.reconcile([optional], services: ServiceAvailability(passing: [])).actions.count == 1)
        let required = Self.worker([ServiceRequirement(name: "db")])
        #expect(Self.reconcile([required], services: nil).actions.count == 1)
    }

    @Test("once started, an instance is not stopped or held when its service stops passing (a restart is not a first start)")
    func startedInstanceKeepsRunning() {
        let worker = Self.worker([ServiceRequirement(name: "db")])
        let running = Fixture.container(for: worker, id: "w1")
        let kept = Self.reconcile([worker], [running], services: ServiceAvailability(passing: []))
        #expect(kept.actions.isEmpty && kept.instances.map(\.phase) == [.running])
    }

    @Test("a new spec whose required service does not pass waits, and the container it would replace keeps running")
    func updateWaitsKeepingTheOld() {
        let old = Self.worker([])
        let new = Self.worker([ServiceRequirement(name: "db")], image: "localhost/worker:2")
        let plan = Self.reconcile([new], [Fixture.container(for: old, id: "old")], services: ServiceAvailability(passing: []))
        #expect(plan.actions.isEmpty, "the old container was stopped or replaced while the new spec waits")
        #expect(plan.instances.map(\.phase.name) == ["Waiting"])
    }
}
