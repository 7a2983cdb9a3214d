import ArgumentParser
import MNCore
import MNReconcile

/// `mnctl deployment status KEY`
struct DeploymentStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one deployment: versions, instances with their container ids, and recent events.")

    @Argument(help: "The deployment key.")
    var key: String

    @Option(help: "How many recent events to show.")
    var events: Int = 10

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let deploymentKey = DeploymentKey(key)
        let view = try await withStore(store) { store -> DeploymentView in
            guard let deployment = try await store.deployment(deploymentKey) else {
                let known = try await store.deployments().map(\.key.rawValue)
                printError(
                    "error: no deployment '\(key)'" + (known.isEmpty ? "; none exist yet" : "; known: \(known.joined(separator: ", "))"))
                throw ExitCode(1)
            }
            return DeploymentView(deployment, reports: try await store.allReports())
        }
        switch options.output {
        case .json: print(jsonText(view))
        case .text: print(Self.render(view, events: events))
        }
    }

    static func render(_ view: DeploymentView, events: Int) -> String {
        let stable = view.rollbackTarget.map { "   rollback target v\($0)" } ?? ""
        var lines = [
            "Deployment \(view.key)   status \(view.status)   version \(view.latestVersion)\(stable)   id \(view.id)", "", "Versions:",
        ]
        lines += table(
            view.versions.map { version in
                let source: String =
                    switch version.source {
                    case .applied: "applied"
                    case .rollback(let from, let reason): "rollback to v\(from): \(reason)"
                    }
                return ["  v\(version.number)", formatTime(version.createdAt), version.contentHash.short, source]
            }
        ).split(separator: "\n").map(String.init)
        if let rollout = view.rollout {
            var line = "Rollout to v\(rollout.target): \(rollout.done.count) done"
            if !rollout.inProgress.isEmpty { line += ", in progress: \(rollout.inProgress.joined(separator: ", "))" }
            if view.status == "Deploying", rollout.inProgress.isEmpty, rollout.promotedAt == nil, !rollout.done.isEmpty {
                line += "; canaries healthy, waiting for: mnctl deployment promote \(view.key)"
            }
            lines += ["", line]
        }
        lines += ["", "Instances:"]
        if view.instances.isEmpty {
            lines.append("  none reported yet (is mnagent running on the node?)")
        } else {
            lines += table(
                [["  INSTANCE", "NODE", "VERSION", "PHASE", "CONTAINER", "HEALTH", "REPORTED"]]
                    + view.instances.map { instance in
                        let status = instance.status
                        var phase = status.phase.name
                        if case .failed(let reason, _) = status.phase { phase += ": \(reason)" }
                        if case .restarting(let at) = status.phase { phase += " at \(formatTime(at))" }
                        return [
                            "  \(status.id)", instance.node.rawValue, "v\(status.version)", phase,
                            status.container.map { String($0.rawValue.prefix(12)) } ?? "-", status.health?.rawValue ?? "-",
                            formatTime(instance.reportedAt),
                        ]
                    }
            ).split(separator: "\n").map(String.init)
        }
        lines += ["", "Events:"]
        lines += view.events.suffix(events).map { "  \(formatTime($0.at))  v\($0.version)  \($0.message)" }
        return lines.joined(separator: "\n")
    }
}
