import ArgumentParser
import Foundation
import MNAgent
import MNCore

/// `mnctl deployment deploy PATH --key K --strategy S --max-parallel N --canary N`
struct DeploymentDeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy a manifest under a deployment key, optionally overriding its update policy.",
        discussion: """
            Like 'mnctl apply', with the options written into the manifest before it is validated: --key sets deployment.key; --strategy, --max-parallel, --canary, --[no-]auto-promote, --[no-]auto-revert, --min-healthy, --healthy-deadline and --progress-deadline set policies.update (durations as 30s, 5m, 1h30m, 500ms). PATH is a manifest file, or a bundle folder holding manifest.json, manifest.yaml or manifest.yml and an optional payloads/ folder: its files (at most 8 MiB each, 32 MiB together) are stored in Redis by content, written to every node that runs the version, and mounted read-only at /mn/payloads in its containers; a payload change alone makes a new version.

              mnctl deployment deploy Examples/web-v1.json --key web --strategy rolling --max-parallel 1
              mnctl deployment deploy Examples/web-v2.json --key web --strategy canary --canary 1
              mnctl deployment deploy Examples/web-v2.json --key web --auto-revert --healthy-deadline 30s --dry-run
              mnctl deployment deploy Examples/web-v2.json --key web --auto-revert --healthy-deadline 30s --wait
            """)

    @Argument(help: "A manifest file, or a bundle folder with manifest.json / manifest.yaml.")
    var path: String

    @Option(help: "The deployment key (overrides deployment.key).")
    var key: String?

    @Option(help: "rolling, canary or blue-green (overrides policies.update.strategy).")
    var strategy: String?

    @Option(name: .customLong("max-parallel"), help: "Most instances replaced at once (overrides policies.update.max_parallel).")
    var maxParallel: Int?

    @Option(help: "Canary instances to place before promotion (overrides policies.update.canary).")
    var canary: Int?

    @Flag(
        inversion: .prefixedNo,
        help: "Promote healthy canaries (or a healthy blue-green version) without an operator (overrides policies.update.auto_promote).")
    var autoPromote: Bool?

    @Flag(inversion: .prefixedNo, help: "Roll back to the stable version if the update fails (overrides policies.update.auto_revert).")
    var autoRevert: Bool?

    @Option(help: "How long a new instance must stay healthy before it counts: 10s, 0s (overrides policies.update.min_healthy_ms).")
    var minHealthy: DurationArgument?

    @Option(help: "How long a new instance may take to become healthy: 5m (overrides policies.update.healthy_deadline_ms).")
    var healthyDeadline: DurationArgument?

    @Option(help: "How long the rollout may go without an instance finishing: 10m (overrides policies.update.progress_deadline_ms).")
    var progressDeadline: DurationArgument?

    @Flag(help: "Print the update policy as it will run and the plan of the update, and write nothing.")
    var dryRun = false

    @Flag(help: "Wait until the new version is Running (exit 0) or Failed / RolledBack (exit 1), showing its status as it changes.")
    var wait = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    /// Flag values are checked here, so that an error names the flag, not the manifest field it sets.
    func validate() throws {
        if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel: must be at least 1, got \(maxParallel)") }
        if let canary, canary < 0 { throw ValidationError("--canary: must be at least 0, got \(canary)") }
        if let healthyDeadline, healthyDeadline.milliseconds == 0 { throw ValidationError("--healthy-deadline: must be more than 0 (30s, 5m)") }
        if let progressDeadline, progressDeadline.milliseconds == 0 { throw ValidationError("--progress-deadline: must be more than 0 (5m, 10m)") }
        if dryRun && wait { throw ValidationError("--dry-run writes nothing, so there is nothing to --wait for; give one") }
        if let strategy, UpdatePolicy.Strategy(rawValue: strategy) == nil {
            let names = UpdatePolicy.Strategy.allCases.map(\.rawValue)
            let near = names.filter { Spelling.isNearMiss(strategy, of: $0) }
            throw ValidationError(
                "--strategy: unknown value '\(strategy)'; \(near.count == 1 ? "did you mean '\(near[0])'? " : "")must be one of \(names.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let bundle: DeploymentBundle?
        do {
            bundle = try DeploymentBundle.open(path)
        } catch {
            printError("error: \(error)")
            throw ExitStatus.invalid
        }
        let file = bundle?.manifestFile ?? path
        let loaded = overridden(file).map { manifest in
            var manifest = manifest
            if let bundle { manifest.payloads = bundle.payloads }
            return manifest
        }
        guard !dryRun else { return try await preview(loaded, file: file) }
        try await applyManifest(loaded, from: file, store: store, pin: pinning.pin, bundle: bundle, output: options)
        guard wait, case .success(let manifest) = loaded else { return }
        try await withStore(store) { store in
            try await StatusWatcher(output: options.output, events: 5, intervalMs: 500, stopWhenPaused: true).watch(manifest.key, in: store)
        }
    }

    /// The `policies.update` fields the flags set, with their values: what `overridden(_:)`
    /// writes into the manifest and the policy report names as set by a flag.
    var policyFlags: [(field: String, value: JSONValue)] {
        var flags: [(field: String, value: JSONValue)] = []
        if let strategy { flags.append(("strategy", .string(strategy))) }
        if let maxParallel { flags.append(("max_parallel", .integer(Int64(maxParallel)))) }
        if let canary { flags.append(("canary", .integer(Int64(canary)))) }
        if let autoPromote { flags.append(("auto_promote", .bool(autoPromote))) }
        if let autoRevert { flags.append(("auto_revert", .bool(autoRevert))) }
        if let minHealthy { flags.append(("min_healthy_ms", .integer(minHealthy.milliseconds))) }
        if let healthyDeadline { flags.append(("healthy_deadline_ms", .integer(healthyDeadline.milliseconds))) }
        if let progressDeadline { flags.append(("progress_deadline_ms", .integer(progressDeadline.milliseconds))) }
        return flags
    }

    /// `--dry-run`: the policy as it will run and the single-node plan of the update from the
    /// deployment's latest version (from nothing for a new key). Reads the store, writes nothing.
    private func preview(_ loaded: Result<Manifest, ManifestError>, file: String) async throws {
        let manifest: Manifest
        switch loaded {
        case .success(let value): manifest = value
        case .failure(let error):
            printError(describe(error.problems, in: file))
            throw ExitStatus.invalid
        }
        let document = try? ManifestFile(path: file).read().get()
        let written = document.flatMap { try? JSONValue.parse($0, format: ManifestFormat(fileName: file) ?? ManifestFormat(sniffing: $0)) }
        let current = try await withStore(store) { try await $0.deployment(manifest.key) }
        let running = current?.latest
        let policy = UpdatePolicyReport(of: manifest, document: written, flags: Set(policyFlags.map(\.field)), previous: running?.manifest)
        let version = (running?.number ?? 0) + 1
        let plan = PlanCommand.plan(manifest, version: version, running: running?.manifest)
        print(PlanCommand.render(plan, manifest: manifest, version: version, running: running != nil, policy: policy, format: options.output))
    }

    /// The manifest with the command-line overrides written in, then validated as a whole.
    func overridden(_ file: String) -> Result<Manifest, ManifestError> {
        ManifestFile(path: file).read().flatMap { data in
            Result { () throws(ManifestError) in
                var tree = try JSONValue.parse(data, format: ManifestFormat(fileName: file) ?? ManifestFormat(sniffing: data))
                if let key { tree = tree.setting(["deployment", "key"], to: .string(key)) }
                for (field, value) in policyFlags { tree = tree.setting(["policies", "update", field], to: value) }
                return try Manifest(validating: tree)
            }
        }
    }
}

extension JSONValue {
    /// This object with the value at `path` set, creating objects on the way.
    func setting(_ path: [String], to value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        var fields: [String: JSONValue] = [:]
        if case .object(let existing) = self { fields = existing }
        fields[first] = (fields[first] ?? .object([:])).setting(Array(path.dropFirst()), to: value)
        return .object(fields)
    }
}
