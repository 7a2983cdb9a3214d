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

    @Test("a bundle folder: its manifest and every payload file by path and SHA-256; a payload change alone changes the version and instance hashes")
    func bundleFolder() throws {
        let files = FileManager.default
        let folder = files.temporaryDirectory.appendingPathComponent("mn-bundle-\(UUID().uuidString.prefix(6))")
        try files.createDirectory(at: folder.appendingPathComponent("payloads/prompts"), withIntermediateDirectories: true)
        defer { try? files.removeItem(at: folder) }
        try Data(contentsOf: examples.appendingPathComponent("agent-api.yaml")).write(to: folder.appendingPathComponent("manifest.yaml"))
        try Data("hello".utf8).write(to: folder.appendingPathComponent("payloads/prompts/system.txt"))
        try Data("{}".utf8).write(to: folder.appendingPathComponent("payloads/config.json"))
        let bundle = try #require(try DeploymentBundle.open(folder.path))
        #expect(bundle.manifestFile.hasSuffix("/manifest.yaml"))
        #expect(bundle.payloads.map(\.path) == ["config.json", "prompts/system.txt"])
        #expect(bundle.payloads[1].sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" && bundle.payloads[1].size == 5)

        var manifest = try ManifestFile(path: bundle.manifestFile).load().get()
        let plain = manifest
        manifest.payloads = bundle.payloads
        var changed = manifest
        changed.payloads[1].sha256 = String(repeating: "0", count: 64)
        #expect(Set([plain.contentHash, manifest.contentHash, changed.contentHash]).count == 3)
        #expect(manifest.instanceHash(of: manifest.agents[0]) != changed.instanceHash(of: changed.agents[0]))
        // The stored form reads back, payloads included.
        let reread = try Manifest.parse(Data(manifest.canonicalBytes), format: .json)
        #expect(reread == manifest)
    }

    @Test("bundle errors: a path that is neither, a folder without a manifest, a symlink leaving the bundle")
    func bundleErrors() throws {
        let files = FileManager.default
        let folder = files.temporaryDirectory.appendingPathComponent("mn-bundle-\(UUID().uuidString.prefix(6))")
        try files.createDirectory(at: folder.appendingPathComponent("payloads"), withIntermediateDirectories: true)
        defer { try? files.removeItem(at: folder) }
        func problem(_ path: String) -> String {
            do {
                _ = try DeploymentBundle.open(path)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(folder.path + "/nowhere").contains("no such file or folder"))
        #expect(problem(folder.path).contains("is a folder without manifest.json, manifest.yaml or manifest.yml"))
        try Data(contentsOf: examples.appendingPathComponent("web-v1.json")).write(to: folder.appendingPathComponent("manifest.json"))
        try files.createSymbolicLink(atPath: folder.appendingPathComponent("payloads/passwd").path, withDestinationPath: "/etc/passwd")
        #expect(problem(folder.path).contains("payloads/passwd is a symlink to /etc/passwd, outside the bundle"))
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
