import ArgumentParser
import MNCore
import MNReconcile

/// `mnctl plan FILE`
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a node would do for a manifest, without doing it.",
        discussion: """
            Runs the node reconciler for the manifest's instances and prints the actions it would take: each start names the container it would create, whose name ends in the spec hash that identifies it, then the update policy as it will run (with --from, the strategy the update really runs: a topology change makes it a whole-job blue-green). Environment values are never printed. Nothing is changed.

            By default the node is empty. With --from OLD, the node runs OLD's instances (as version 1, the manifest as version 2), so the plan shows what an update or a rollback would replace, stop and start:

              mnctl plan Examples/web-v1.json
              mnctl plan Examples/web-v2.json --from Examples/web-v1.json
              mnctl plan Examples/web-v1.json --output json
            """)

    @Argument(help: "Manifest file (.json, .yaml or .yml; '-' for standard input).")
    var file: String

    @Option(name: .customLong("from"), help: "A manifest whose instances the node is running now (default: an empty node).")
    var current: String?

    @OptionGroup var options: OutputOptions

    func run() throws {
        let (manifest, document) = try load(file)
        let running = try current.map(load)?.manifest
        let version = running == nil ? 1 : 2
        let plan = Self.plan(manifest, version: version, running: running)
        let policy = UpdatePolicyReport(of: manifest, document: document, previous: running)
        print(Self.render(plan, manifest: manifest, version: version, running: running != nil, policy: policy, format: options.output))
    }

    private func load(_ path: String) throws -> (manifest: Manifest, document: JSONValue) {
        switch ManifestFile(path: path).loadDocument() {
        case .success(let loaded): return loaded
        case .failure(let error):
            printError(describe(error.problems, in: path))
            throw ExitStatus.invalid
        }
    }

    /// The node a dry run plans for.
    static let planNode = NodeID("dry-run")

    /// The plan for `manifest` on a node that runs `running`'s instances (or nothing).
    static func plan(_ manifest: Manifest, version: Int, running: Manifest? = nil) -> NodePlan {
        let now = Timestamp(milliseconds: 0)
        let observed = (running?.desiredInstances(version: max(1, version - 1)) ?? []).map { instance in
            let start = StartContainer(instance: instance, node: planNode)
            return ObservedContainer(
                id: ContainerID(start.name), name: start.name, labels: start.labels, state: .running, startedAt: now)
        }
        return NodeReconciler.reconcile(
            .init(node: planNode, desired: manifest.desiredInstances(version: version), observed: observed, now: now))
    }

    /// The printed form of a plan.
    static func render(
        _ plan: NodePlan, manifest: Manifest, version: Int, running: Bool = false, policy: UpdatePolicyReport? = nil, format: OutputFormat
    ) -> String {
        switch format {
        case .json:
            struct Output: Encodable {
                let deployment: DeploymentKey
                let version: Int
                let actions: [NodeAction]
                let updatePolicy: UpdatePolicyReport?

                enum CodingKeys: String, CodingKey {
                    case deployment, version, actions
                    case updatePolicy = "update_policy"
                }
            }
            return jsonText(Output(deployment: manifest.key, version: version, actions: plan.actions, updatePolicy: policy))
        case .text:
            let node = running ? "a node running the --from manifest" : "an empty node"
            var lines = ["Plan for deployment '\(manifest.key)' version \(version) on \(node) (dry run):"]
            for action in plan.actions {
                switch action {
                case .start(let start):
                    lines.append("  start    \(start.instance.id)  \(workload(start))  as \(start.name)")
                case .replace(let replace):
                    lines.append(
                        "  replace  \(replace.new.instance.id)  stop \(replace.old.container) (\(replace.old.signal), "
                            + "\(replace.old.gracePeriodMs) ms grace), then start \(workload(replace.new)) as \(replace.new.name)")
                case .stop(let stop):
                    lines.append("  stop     \(stop.container) (\(stop.reason.rawValue), \(stop.signal), \(stop.gracePeriodMs) ms grace)")
                case .restart(let restart):
                    lines.append("  restart  \(restart.instance)  \(restart.container)")
                }
            }
            let unchanged = plan.instances.filter { $0.phase == .running }.count
            if unchanged > 0 { lines.append("  \(unchanged) instance\(unchanged == 1 ? "" : "s") unchanged, left running") }
            let count = plan.actions.count
            if let policy { lines += describe(policy) }
            lines.append("\(count) action\(count == 1 ? "" : "s"); nothing was changed.")
            return lines.joined(separator: "\n")
        }
    }

    private static func workload(_ start: StartContainer) -> String {
        switch start.instance.spec.workload {
        case .image(let image): "image \(image)"
        case .exec(let path): "exec \(path)"
        }
    }
}
