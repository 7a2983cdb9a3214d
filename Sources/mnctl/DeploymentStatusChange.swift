import ArgumentParser
import MNAgent
import MNCore

/// What `pause`, `resume` and `fail` share: a key, an optional reason, one status change.
struct StatusChangeOptions: ParsableArguments {
    @Argument(help: "The deployment key.")
    var key: String

    @Option(help: "Why (kept in the deployment's events; \"none given\" when left out).")
    var reason: String?

    func validate() throws {
        if let reason, reason.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--reason: is empty; say why, or leave --reason out")
        }
    }

    func run(_ change: DeploymentStore.StatusChange, store: StoreOptions, output: OutputOptions) async throws {
        let reason = reason ?? "none given"
        let status = try await withStore(store) { try await $0.change(DeploymentKey(key), change, reason: reason, at: .now()) }
        switch output.output {
        case .json:
            struct Result: Encodable {
                let deployment: String
                let status: DeploymentStatus
            }
            print(jsonText(Result(deployment: key, status: status)))
        case .text: print("\(key): \(status.rawValue)")
        }
    }
}

/// `mnctl deployment pause KEY [--reason R]`
struct DeploymentPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop taking actions for a deployment until it is resumed.",
        discussion: """
            While paused, agents start, stop and restart none of the deployment's containers; they keep reporting them. Other deployments are not affected.

              mnctl deployment pause web --reason "investigating health"
              mnctl deployment pause web
            """)
    @OptionGroup var change: StatusChangeOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions
    func run() async throws { try await change.run(.pause, store: store, output: options) }
}

/// `mnctl deployment resume KEY [--reason R]`
struct DeploymentResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let agents act for a paused deployment again, or validate again a version that failed in Validating.",
        discussion: """
            A version that failed validation (an image missing on the node, a host port taken) started nothing; once the cause is fixed, resume checks it again and, if it passes, rolls it out.

              mnctl deployment resume web --reason "continue rollout"
            """)
    @OptionGroup var change: StatusChangeOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions
    func run() async throws { try await change.run(.resume, store: store, output: options) }
}

/// `mnctl deployment fail KEY [--reason R]`
struct DeploymentFailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fail",
        abstract: "Mark a deployment failed, with the reason.",
        discussion: """
            Records the failure and its reason. Nothing is reverted: roll back with 'mnctl deployment rollback' or apply a fixed manifest.

              mnctl deployment fail web --reason "candidate failed health checks"
            """)
    @OptionGroup var change: StatusChangeOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions
    func run() async throws { try await change.run(.fail, store: store, output: options) }
}
