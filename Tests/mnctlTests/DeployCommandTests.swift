import ArgumentParser
import Foundation
import MNCore
import Testing

@testable import mnctl

@Suite("mnctl deployment deploy overrides")
struct DeployCommandTests {
    func command(_ arguments: [String]) throws -> DeploymentDeployCommand {
        try DeploymentDeployCommand.parse(arguments)
    }

    @Test("--key, --strategy, --max-parallel and --canary are written into the manifest before validation")
    func overridesApply() throws {
        let file = examples.appendingPathComponent("web-v1.json").path
        let manifest = try command([file, "--key", "agent-api", "--strategy", "canary", "--canary", "1", "--max-parallel", "2"])
            .overridden(file).get()
        #expect(manifest.key == "agent-api")
        #expect(manifest.policies.update.strategy == .canary)
        #expect(manifest.policies.update.canary == 1)
        #expect(manifest.policies.update.maxParallel == 2)
        #expect(manifest.agents.map(\.id) == ["httpd"], "the rest of the manifest is kept")
    }

    @Test("an override that makes the manifest invalid is reported with the field's path")
    func invalidOverride() throws {
        let file = examples.appendingPathComponent("web-v1.json").path
        let result = try command([file, "--strategy", "canary"]).overridden(file)
        guard case .failure(let error) = result else {
            Issue.record("canary without --canary must be refused")
            return
        }
        #expect(error.problems.map(\.description) == ["policies.update.canary: must be at least 1 when strategy is 'canary', got 0"])
    }

    @Test("a bad flag value is the flag's error (named as the flag, with a hint for a near miss), before any manifest is read")
    func flagErrors() throws {
        let file = examples.appendingPathComponent("web-v1.json").path
        for (arguments, expected) in [
            (["--strategy", "big-bang"], "--strategy: unknown value 'big-bang'; must be one of rolling, canary, blue-green"),
            (["--strategy", "Canary"], "--strategy: unknown value 'Canary'; did you mean 'canary'?"),
            (["--max-parallel", "0"], "--max-parallel: must be at least 1, got 0"),
            (["--healthy-deadline", "0s"], "--healthy-deadline: must be more than 0"),
        ] {
            do {
                _ = try command([file] + arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(DeploymentDeployCommand.message(for: error).contains(expected), "\(DeploymentDeployCommand.message(for: error))")
            }
        }
    }

    @Test("--[no-]auto-promote, --[no-]auto-revert and the durations are written into the manifest")
    func policyFlags() throws {
        let file = examples.appendingPathComponent("web-v1.json").path
        let manifest = try command([
            file, "--auto-revert", "--no-auto-promote", "--min-healthy", "0s", "--healthy-deadline", "2m", "--progress-deadline", "1h30m",
        ]).overridden(file).get()
        let update = manifest.policies.update
        #expect(update.autoRevert && !update.autoPromote)
        #expect(update.minHealthyMs == 0 && update.healthyDeadlineMs == 120_000 && update.progressDeadlineMs == 5_400_000)
    }

    @Test("a bundle folder's manifest is found")
    func bundleFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mn-bundle-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(contentsOf: examples.appendingPathComponent("agent-api.yaml")).write(to: folder.appendingPathComponent("manifest.yaml"))
        #expect(try DeploymentDeployCommand.manifestFile(at: folder.path) == folder.appendingPathComponent("manifest.yaml").path)
    }

    @Test("setting a path creates the objects on the way and keeps siblings")
    func setting() {
        let tree = JSONValue.object(["policies": .object(["restart": .object(["attempts": .integer(1)])])])
        let set = tree.setting(["policies", "update", "strategy"], to: .string("canary"))
        #expect(
            set
                == .object([
                    "policies": .object([
                        "restart": .object(["attempts": .integer(1)]), "update": .object(["strategy": .string("canary")]),
                    ])
                ]))
    }
}
