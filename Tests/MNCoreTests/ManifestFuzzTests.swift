import MNReconcileTestSupport
import Testing

/// Manifest reading under generated bad input (MNReconcileTestSupport's ManifestFuzzer). A few thousand
/// documents here, in debug; mn-release-checks reads 100,000 of them optimised.
@Suite("Manifest fuzzing")
struct ManifestFuzzTests {
    @Test("5,000 mutated trees and 3,000 mutated byte strings: each accepted (and read back from its encoding) or rejected with problems that say where")
    func mutatedDocuments() {
        let report = ManifestFuzzer.run(trees: 5_000, bytes: 3_000, seed: 0x6D6E_0001)
        #expect(report.failure == nil, "\(report.failure ?? "")")
        #expect(report.documents == 8_000)
        // Mutations that keep a manifest valid (a count, a tag) must be among them, or the
        // round trip was never exercised.
        #expect(report.accepted > 100, "only \(report.accepted) of 8,000 mutated documents were valid")
    }
}
