import ArgumentParser
import Foundation
import MNAgent
import MNCore

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

            \(ExitStatus.documentation)
            """,
        version: "0.1.0",
        subcommands: [
            ApplyCommand.self, ValidateCommand.self, PlanCommand.self, DeploymentCommand.self, NodeCommand.self, ServiceCommand.self,
        ]
    )

    /// Parses and runs a command; errors exit with the codes of ``ExitStatus``, and a command
    /// name that does not exist is a usage error even beside `--help` (which would otherwise
    /// print the parent's help and exit 0).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        ProcessArguments.hidePasswords()  // from ps, while a --watch runs
        if let (unknown, parent, known) = unknownSubcommand(in: arguments) {
            let path = parent.map { "mnctl \($0) " } ?? "mnctl "
            let near = known.filter { Spelling.isNearMiss(unknown, of: $0) }
            let hint = near.count == 1 ? "did you mean '\(near[0])'? " : ""
            printError("error: unknown command '\(unknown)'; \(hint)see '\(path)--help' for the commands")
            Foundation.exit(ExitStatus.invalid.rawValue)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)  // the command said why already
        } catch {
            // Help and --version come here too, with code 0: they go to standard output.
            let code = ExitStatus.code(for: error, of: Self.self)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
            } else if !message.isEmpty {
                printError(message)
            }
            Foundation.exit(code.rawValue)
        }
    }

    /// The first name in `arguments` where a command group expects one of its subcommands and
    /// finds something else, with the group's path (`deployment`), if any, and its subcommands.
    static func unknownSubcommand(in arguments: [String]) -> (String, String?, [String])? {
        var group: ParsableCommand.Type = Self.self
        var path: [String] = []
        for argument in arguments {
            let subcommands = group.configuration.subcommands
            // `help` is the parser's own (`mnctl help deployment`).
            guard !subcommands.isEmpty, !argument.hasPrefix("-"), argument != "help" else { return nil }
            guard let next = subcommands.first(where: { $0._commandName == argument || $0.configuration.aliases.contains(argument) }) else {
                return (argument, path.isEmpty ? nil : path.joined(separator: " "), subcommands.map { $0._commandName })
            }
            group = next
            path.append(argument)
        }
        return nil
    }
}
