import ArgumentParser

/// `mnctl node …`
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Inspect the cluster's nodes (readiness, the controller, capacity, what runs where) and drain them for maintenance.",
        discussion: """
            Every mnagent registers its host (address, os, arch, CPU, memory, devices and the agent config's meta) and heartbeats; a node whose heartbeat expired is down. One agent at a time holds the controller lease: 'node list' marks it as leader. 'drain' moves a node's work elsewhere before maintenance, 'undrain' ends it, 'eligibility' lets a node take new instances or not.
            """,
        subcommands: [NodeListCommand.self, NodeStatusCommand.self, NodeDrainCommand.self, NodeUndrainCommand.self, NodeEligibilityCommand.self])
}
