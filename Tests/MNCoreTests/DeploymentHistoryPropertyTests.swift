import MNCore
import PropertyBased
import Testing

@Suite("Deployment history under random updates, failures and reverts")
struct DeploymentHistoryPropertyTests {
    /// One of a few manifests of key `shop`: image `web:<n>`, with or without auto_revert.
    func manifest(_ image: Int, autoRevert: Bool) -> Manifest {
        var policies = Policies.defaults
        policies.update.autoRevert = autoRevert
        return Manifest(key: "shop", agents: [AgentSpec(id: "web", workload: .image("web:\(image)"))], policies: policies)
    }

    @Test("history is append-only; auto_revert ends on the last stable version's manifest and never reverts a revert")
    func historyAndAutoRevert() async {
        // Each step: apply manifest (image 0...3, auto_revert or not), then the rollout succeeds or fails.
        let step = zip(Gen.int(in: 0...3), Gen.bool(), Gen.bool(0.4))
        await propertyCheck(count: 300, input: step.array(of: 1...12)) { steps in
            var time = Timestamp(milliseconds: 1_000)
            var deployment = Deployment(first: manifest(0, autoRevert: false), at: time)
            deployment.markStable(1)
            var stable: Manifest? = deployment.latest.manifest
            for (image, autoRevert, fails) in steps {
                time = time.adding(ms: 1_000)
                let before = deployment.versions
                guard case .appended(let version) = try! deployment.append(manifest(image, autoRevert: autoRevert), at: time) else {
                    continue
                }
                #expect(Array(deployment.versions.prefix(before.count)) == before, "an append rewrote history")
                #expect(deployment.status == .validating, "a new version is validated first")
                guard fails else {
                    deployment.markStable(version.number)
                    stable = version.manifest
                    continue
                }
                let revert = deployment.revertAfterFailure(of: version.number, reason: "health", at: time)
                #expect(Array(deployment.versions.prefix(before.count + 1)) == before + [version], "a revert rewrote history")
                if autoRevert && stable?.contentHash != version.manifest.contentHash {
                    let revert = try! #require(revert, "auto_revert made no revert")
                    #expect(revert.manifest == stable, "the revert does not run the last stable version's manifest")
                    #expect(revert.isAutoRevert)
                    // The revert fails too: it is never reverted again.
                    #expect(deployment.revertAfterFailure(of: revert.number, reason: "health", at: time) == nil, "a revert was reverted")
                    deployment.markStable(revert.number)
                    stable = revert.manifest
                } else {
                    #expect(revert == nil, "reverted without auto_revert, or to an identical manifest")
                }
            }
            #expect(deployment.versions.enumerated().allSatisfy { $0.element.number == $0.offset + 1 })
        }
    }
}
