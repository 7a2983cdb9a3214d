import ArgumentParser
import MNAgent
import MNCore

/// `mnctl service …`
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Discover the services agents offer (agents[].services[] in manifests).",
        discussion: """
            Each node registers its running instances' services with its address, the host port (a dynamic one when the port has no host_port), the tags and whether the instance passes its checks; the version and role (primary, canary, candidate) are the controller's. Nodes that stopped heartbeating serve nothing, and an instance leaves discovery before it is stopped (lifecycle.shutdown_delay_ms).

              mnctl service list
              mnctl service resolve web                      # passing primaries
              mnctl service resolve web --index 3f9a… --wait 5m   # blocks until the answer changes
              mnctl service watch web --output json          # one line per change
              mnctl service render web --template haproxy --out /etc/haproxy/web.cfg --watch
            """,
        subcommands: [
            ServiceListCommand.self, ServiceResolveCommand.self, ServiceWatchCommand.self, ServiceRenderCommand.self,
        ])
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

/// The query options `resolve`, `watch` and `render` share.
struct ServiceQueryOptions: ParsableArguments {
    @Argument(help: "The service name.")
    var name: String

    @Option(name: .customLong("tag"), help: "Only instances with this tag (repeat for several).")
    var tags: [String] = []

    @Flag(help: "Also canaries and candidates, and instances failing their checks.")
    var allRoles = false

    var query: ServiceQuery { ServiceQuery(service: name, tags: tags, allRoles: allRoles) }
}

/// The instances of a resolution as a table (ADDRESS NODE DEPLOYMENT ROLE STATUS INSTANCE TAGS).
func serviceTable(_ instances: [ServiceCatalog.Instance]) -> String {
    table(
        [["ADDRESS", "NODE", "DEPLOYMENT", "ROLE", "STATUS", "INSTANCE", "TAGS"]]
            + instances.map { instance in
                [
                    instance.port.map { "\(instance.address):\($0)" } ?? "\(instance.address) (no host port)", instance.node.rawValue,
                    "\(instance.deploymentKey) v\(instance.deploymentVersion)", instance.deploymentRole.rawValue, instance.status,
                    instance.instance.description, instance.tags.joined(separator: ","),
                ]
            })
}
