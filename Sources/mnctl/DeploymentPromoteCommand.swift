import ArgumentParser
import MNAgent
import MNCore

/// `mnctl deployment promote KEY`
struct DeploymentPromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Promote a waiting canary or blue-green update: the rest follows and the old version retires.",
        discussion: """
            A canary update places its canary instances beside the old ones and waits; promotion lets the remaining instances move to the new version in batches of max_parallel, retiring the old. A blue-green update (or any update that changes the agents or edges) starts the whole new version beside the old and waits; promotion makes it primary and retires the old at once. Promotion is accepted only once the waiting instances are healthy: status says "waiting for promotion".

              mnctl deployment deploy Examples/web-v2.json --key web --strategy canary --canary 1
              mnctl deployment status web
              mnctl deployment promote web
            """)

    @Argument(help: "The deployment key.")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        try await withStore(store) { try await $0.promote(DeploymentKey(key), at: .now()) }
        switch options.output {
        case .json:
            struct Result: Encodable {
                let deployment: String
                let promoted: Bool
            }
            print(jsonText(Result(deployment: key, promoted: true)))
        case .text: print("\(key): promoted")
        }
    }
}
