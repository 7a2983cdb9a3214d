import ArgumentParser

/// `mnctl node …`
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Inspect the cluster's nodes: readiness, the controller, capacity and what runs where.",
        discussion: """
            Every mnagent registers its host (address, os, arch, CPU, memory, devices and the agent config's meta) and heartbeats; a node whose heartbeat expired is down. One agent at a time holds the controller lease: 'node list' marks it as leader.
            """,
        subcommands: [NodeListCommand.self, NodeStatusCommand.self])
}
