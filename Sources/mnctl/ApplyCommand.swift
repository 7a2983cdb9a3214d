import ArgumentParser
import MNAgent
import MNCore

/// `mnctl apply FILE`
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate a manifest and make it the deployment's desired state.",
        discussion: """
            The manifest is validated first: if it has any problem, every problem is printed and nothing is written. Otherwise it becomes a new immutable version of its deployment key (versions are numbered from 1 and never change), the node is told to run it, and agents are notified — all in one Redis transaction.

            Applying a manifest that means the same as the current version (even if formatted differently) creates no new version.

              mnctl apply Examples/web-v1.json
              mnctl apply Examples/web-v2.json --output json
            """)

    @Argument(help: "Manifest file (.json, .yaml or .yml; '-' for standard input).")
    var file: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let manifest: Manifest
        switch ManifestFile(path: file).load() {
        case .success(let loaded): manifest = loaded
        case .failure(let error):
            printError(describe(error.problems, in: file))
            printError("nothing was written.")
            throw ExitCode(1)
        }
        let node = store.nodeID
        let result = try await withStore(store) { try await $0.apply(manifest, to: node, at: .now()) }
        switch options.output {
        case .json: print(jsonText(result))
        case .text:
            if result.created {
                print("\(result.deployment): version \(result.version) created; node \(result.node) will run it")
            } else {
                print("\(result.deployment): unchanged; version \(result.version) is current on node \(result.node)")
            }
        }
    }
}
