import ArgumentParser
import MNAgent
import MNCore

/// `mnctl deployment rollback KEY --version N --reason R`
struct DeploymentRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Roll a deployment back to an earlier version, as a new version.",
        discussion: """
            Copies version N's manifest into a new version and makes it what the node runs. History is never rewritten: the versions in between stay, and the rollback is recorded with its reason.

              mnctl deployment rollback web --version 1 --reason "restore stable worker"
            """)

    @Argument(help: "The deployment key.")
    var key: String

    @Option(help: "The version to restore.")
    var version: Int

    @Option(help: "Why (kept in the version's history and events).")
    var reason: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        guard version >= 1 else { throw ValidationError("--version must be at least 1, got \(version)") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
    }

    func run() async throws {
        let pin = pinning.pin
        let result = try await withStore(store) { store in
            let result = try await store.rollback(DeploymentKey(key), to: version, reason: reason, pin: pin, at: .now())
            await noteIfNothingActs(pinnedTo: result.node, in: store)
            return result
        }
        switch options.output {
        case .json: print(jsonText(result))
        case .text:
            print("\(result.deployment): version \(result.version) created from version \(version); \(placement(result.node))")
        }
    }
}
