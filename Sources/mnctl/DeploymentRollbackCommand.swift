import ArgumentParser
import Foundation
import MNAgent
import MNCore
import MNReconcile

/// `mnctl deployment rollback KEY --version N --reason R`
struct DeploymentRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Roll a deployment back to an earlier version, as a new version.",
        discussion: """
            Copies version N's manifest into a new version and makes it what the node runs. History is never rewritten: the versions in between stay, and the rollback is recorded with its reason.

              mnctl deployment rollback web --version 1 --reason "restore stable worker"
              mnctl deployment rollback web --version 1 --reason "restore stable worker" --dry-run

            On a terminal it shows what would change and asks first; --yes does not ask.
            """)

    @Argument(help: "The deployment key.")
    var key: String

    @Option(help: "The version to restore.")
    var version: Int

    @Option(help: "Why (kept in the version's history and events).")
    var reason: String

    @Flag(help: "Show which version would be copied, the policy it would run and what would change; write nothing.")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation (it is asked only when standard input is a terminal).")
    var yes = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        guard version >= 1 else { throw ValidationError("--version: must be at least 1, got \(version)") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason: is empty; say why") }
    }

    func run() async throws {
        let pin = pinning.pin
        if dryRun || (!yes && isatty(STDIN_FILENO) != 0) {
            let text: String = try await withStore(store) { store in try await self.preview(in: store) }
            print(text)
            if dryRun { return }
            FileHandle.standardError.write(Data("Roll \(key) back to version \(version)? [y/N] ".utf8))
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                printError("nothing was changed")
                throw ExitStatus.failed
            }
        }
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

    /// What the rollback would do: the version copied into which new one, the policy it runs
    /// and the single-node plan from the latest version to it.
    private func preview(in store: DeploymentStore) async throws -> String {
        guard let deployment = try await store.deployment(DeploymentKey(key)) else {
            printError("error: no deployment '\(key)'")
            throw ExitStatus.failed
        }
        guard let target = deployment.version(version) else {
            printError("error: deployment '\(key)' has no version \(version) (versions 1-\(deployment.latest.number))")
            throw ExitStatus.failed
        }
        let latest = deployment.latest
        let next = latest.number + 1
        let plan = PlanCommand.plan(target.manifest, version: next, running: latest.manifest)
        let policy = UpdatePolicyReport(of: target.manifest, document: nil, previous: latest.manifest)
        let same = target.contentHash == latest.contentHash ? " (the same manifest as the latest: the rollback would be refused)" : ""
        switch options.output {
        case .json:
            struct Preview: Encodable {
                let deployment: String
                let copies: Int
                let creates: Int
                let plan: [NodeAction]
                let updatePolicy: UpdatePolicyReport

                enum CodingKeys: String, CodingKey {
                    case deployment, copies, creates, plan
                    case updatePolicy = "update_policy"
                }
            }
            return jsonText(Preview(deployment: key, copies: version, creates: next, plan: plan.actions, updatePolicy: policy))
        case .text:
            return "\(key): version \(version) would be copied as version \(next), replacing version \(latest.number)\(same)\n"
                + PlanCommand.render(plan, manifest: target.manifest, version: next, running: true, policy: policy, format: .text)
        }
    }
}
