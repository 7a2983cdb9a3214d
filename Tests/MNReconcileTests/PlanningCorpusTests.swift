import MNReconcileTestSupport
import Testing

@Suite("Planning corpus")
struct PlanningCorpusTests {
    @Test("every plan of the fixed corpus (node passes and rollout steps) is byte-identical to the recorded ones")
    func plansAreUnchanged() {
        #expect(PlanningCorpus.digest() == PlanningCorpus.recordedDigest)
    }
}
