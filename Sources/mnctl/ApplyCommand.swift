import ArgumentParser
import MNAgent
import MNCore

/// `mnctl apply FILE`
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate a manifest and make it the deployment's desired state.",
        discussion: """
            The manifest is validated first: if it has any problem, every problem is printed and nothing is written. Otherwise it becomes a new immutable version of its deployment key (versions are numbered from 1 and never change), and the cluster controller is notified: it checks the version on the nodes it would run on, then places and rolls it out — all in one Redis transaction.

            Applying a manifest that means the same as the current version (even if formatted differently) creates no new version.

              mnctl apply Examples/web-v1.json
              mnctl apply Examples/web-v2.json --output json
            """)

    @Argument(help: "Manifest file (.json, .yaml or .yml; '-' for standard input).")
    var file: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        try await applyManifest(ManifestFile(path: file).load(), from: file, store: store, pin: pinning.pin, output: options)
    }
}

/// Applies a loaded manifest (or prints every problem and writes nothing), with the payloads
/// of its bundle if any, and prints the result: what `apply` and `deployment deploy` share.
func applyManifest(
    _ loaded: Result<Manifest, ManifestError>, from file: String, store: StoreOptions, pin: DeploymentStore.Pin,
    bundle: DeploymentBundle? = nil, output: OutputOptions
) async throws {
    let manifest: Manifest
    switch loaded {
    case .success(let value): manifest = value
    case .failure(let error):
        printError(describe(error.problems, in: file))
        printError("nothing was written.")
        throw ExitStatus.invalid
    }
    let result = try await withStore(store) { store in
        // The payloads first: a version is never recorded before its bytes are in Redis.
        if let bundle { try await PayloadStore(redis: store.redis).store(bundle.files) }
        let result = try await store.apply(manifest, pin: pin, bundle: bundle?.folder, at: .now())
        await noteIfNothingActs(pinnedTo: result.node, in: store)
        return result
    }
    switch output.output {
    case .json: print(jsonText(result))
    case .text:
        print(
            result.created
                ? "\(result.deployment): version \(result.version) created; \(placement(result.node))"
                : result.pinChanged
                    ? "\(result.deployment): version \(result.version) is current; \(placement(result.node))"
                    : "\(result.deployment): unchanged; version \(result.version) is current")
    }
}

/// Where the controller places a deployment pinned to `node` (or not pinned).
func placement(_ node: NodeID?) -> String {
    node.map { "the controller places it on node \($0)" } ?? "the controller places it on the nodes that fit"
}
