import ArgumentParser
import MNAgent
import MNCore

/// `mnctl deployment promote KEY`
struct DeploymentPromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Promote a waiting canary or blue-green update: the rest follows and the old version retires.",
        discussion: """
            A canary update places its canary instances beside the old ones and waits; promotion lets the remaining instances move to the new version in batches of max_parallel, retiring the old. A blue-green update (or any update that changes the agents or edges) starts the whole new version beside the old and waits; promotion makes it primary and retires the old at once. Promoted at once when the waiting instances are healthy (status says "waiting for promotion"); asked before that, the promotion is queued and happens as soon as they are. Refused while the deployment is paused.

              mnctl deployment deploy Examples/web-v2.json --key web --strategy canary --canary 1
              mnctl deployment status web
              mnctl deployment promote web
            """)

    @Argument(help: "The deployment key.")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let promotion = try await withStore(store) { try await $0.promote(DeploymentKey(key), at: .now()) }
        switch options.output {
        case .json:
            struct Result: Encodable {
                let deployment: String
                let promotion: DeploymentStore.Promotion
            }
            print(jsonText(Result(deployment: key, promotion: promotion)))
        case .text:
            switch promotion {
            case .promoted: print("\(key): promoted")
            case .queued: print("\(key): promotion queued; it happens once the first wave is healthy (mnctl deployment status \(key))")
            }
        }
    }
}
