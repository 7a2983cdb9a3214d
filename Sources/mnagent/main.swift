import ArgumentParser
import MNAgent

/// `mnagent`: the per-host daemon. It watches the desired state in Redis and reconciles
/// this node's containers through podman; the Redis watch and podman runtime arrive with
/// the agent issue, so for now it only describes itself.
struct MNAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnagent",
        abstract: "The mn node agent (one per host, run under systemd).",
        discussion: """
            Not yet able to run: the Redis watch and the podman runtime are the next milestone.
            Use 'mnctl validate' and 'mnctl plan' to check manifests meanwhile.
            """,
        version: "0.1.0")

    func run() throws {
        printUsage()
        throw ExitCode(2)
    }

    private func printUsage() {
        print(Self.helpMessage())
    }
}

MNAgentCommand.main()
