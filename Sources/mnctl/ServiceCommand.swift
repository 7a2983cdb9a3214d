import ArgumentParser
import MNAgent
import MNCore

/// `mnctl service …`
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Discover the services agents offer (agents[].services[] in manifests).",
        discussion: """
            Each node registers its running instances' services with its address, the host port, the tags, the deployment's key, id, version and role (primary, canary, candidate) and whether the instance passes its checks. Nodes that stopped heartbeating serve nothing.
            """,
        subcommands: [ServiceListCommand.self, ServiceResolveCommand.self])
}

/// `mnctl service list`
struct ServiceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Every service, with its passing primaries and its registered instances.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let catalog = try await withStore(store) { try await ServiceCatalog.read(from: $0) }
        switch options.output {
        case .json:
            struct Row: Encodable {
                let name: String
                let passing: Int
                let registered: Int
            }
            print(jsonText(catalog.services.map { Row(name: $0.name, passing: $0.passing, registered: $0.registered) }))
        case .text:
            guard !catalog.services.isEmpty else {
                print("No services registered. An agent offers one with services: [{\"name\": …, \"port\": PORT-NAME}] in its manifest.")
                return
            }
            print(table([["SERVICE", "PASSING", "REGISTERED"]] + catalog.services.map { [$0.name, "\($0.passing)", "\($0.registered)"] }))
        }
    }
}

/// `mnctl service resolve NAME [--tag T] [--all-roles]`
struct ServiceResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "The instances of a service to send traffic to: passing primaries, by default.",
        discussion: """
            Canaries and blue-green candidates are left out unless --all-roles asks for them (then failing instances show too, labelled).

              mnctl service resolve web
              mnctl service resolve web --tag v2 --all-roles --output json
            """)

    @Argument(help: "The service name.")
    var name: String

    @Option(name: .customLong("tag"), help: "Only instances with this tag (repeat for several).")
    var tags: [String] = []

    @Flag(help: "Also canaries and candidates, and instances failing their checks.")
    var allRoles = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let catalog = try await withStore(store) { try await ServiceCatalog.read(from: $0) }
        let found = catalog.resolve(name, tags: tags, allRoles: allRoles)
        switch options.output {
        case .json: print(jsonText(found))
        case .text:
            guard !found.isEmpty else {
                let known = catalog.services.map(\.name)
                printError(
                    known.contains(name)
                        ? "\(name): no instance \(allRoles ? "" : "is a passing primary ")matches (mnctl service resolve \(name) --all-roles shows all)"
                        : "no service '\(name)' is registered" + (known.isEmpty ? "" : "; services: \(known.joined(separator: ", "))"))
                throw ExitStatus.failed
            }
            print(
                table(
                    [["ADDRESS", "NODE", "DEPLOYMENT", "ROLE", "STATUS", "INSTANCE", "TAGS"]]
                        + found.map { instance in
                            [
                                instance.port.map { "\(instance.address):\($0)" } ?? "\(instance.address) (no host port)", instance.node.rawValue,
                                "\(instance.deploymentKey) v\(instance.deploymentVersion)", instance.deploymentRole.rawValue, instance.status,
                                instance.instance.description, instance.tags.joined(separator: ","),
                            ]
                        }))
        }
    }
}
