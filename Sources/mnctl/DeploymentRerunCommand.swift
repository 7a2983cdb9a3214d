import ArgumentParser
import MNAgent
import MNCore

/// `mnctl deployment rerun KEY`
struct DeploymentRerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Run a batch or sysbatch deployment's latest version again, as a new run kept in its history.",
        discussion: """
            Batch jobs are not updated in place: each new version starts a new run, and rerun starts another run of the latest version in fresh containers. A run still in progress is never replaced: rerun is refused until it ends. Past runs, with their outcome, are listed by `mnctl deployment status KEY`.

              mnctl apply Examples/report-batch.json
              mnctl deployment status report
              mnctl deployment rerun report
            """)

    @Argument(help: "The deployment key.")
    var key: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let pin = pinning.pin
        let (run, node) = try await withStore(store) { store in
            let (run, node) = try await store.rerun(DeploymentKey(key), pin: pin, at: .now())
            await noteIfNothingActs(pinnedTo: node, in: store)
            return (run, node)
        }
        switch options.output {
        case .json: print(jsonText(run))
        case .text: print("\(key): run \(run.number) of version \(run.version) started; \(placement(node))")
        }
    }
}
