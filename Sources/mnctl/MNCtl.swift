import ArgumentParser

/// `mnctl`: the operator's command line for mn deployments.
@main
struct MNCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnctl",
        abstract: "Versioned deployments of long-running agents under podman and systemd.",
        discussion: """
            A manifest (JSON or YAML) names a deployment key, its agents and its update, restart and reschedule policies. Check one before you ship it:

              mnctl validate Examples/web-v1.json
              mnctl plan Examples/web-v1.json
              mnctl plan Examples/web-v2.json --from Examples/web-v1.json

            The first plan shows what an empty node would start; the second what updating v1 to v2 would replace.

            See the cluster's nodes (ready or down, the controller, capacity, what runs where):

              mnctl node list

            Every command takes --output json for scripts.
            """,
        version: "0.1.0",
        subcommands: [ApplyCommand.self, ValidateCommand.self, PlanCommand.self, DeploymentCommand.self, NodeCommand.self]
    )
}
