import ArgumentParser
import Foundation
import MNAgent
import MNCore

/// `mnctl service resolve NAME [--tag T] [--all-roles] [--index I [--wait D]]`
struct ServiceResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "The instances of a service to send traffic to: passing primaries, by default.",
        discussion: """
            Canaries and blue-green candidates are left out unless --all-roles asks for them (then failing instances show too, labelled). Every answer has an index; given the index of an earlier answer, resolve blocks until the answer differs (a blocking query), at most --wait, then prints the answer, changed or not. It wakes on every report, assignment and node expiry; it never polls.

              mnctl service resolve web
              mnctl service resolve web --tag v2 --all-roles --output json
              mnctl service resolve web --index 3f9a0c2b7d41e855 --wait 5m --output json

            The JSON is {"index": "…", "instances": [{"address", "port", "node", "deployment_key", "deployment_id", "deployment_version", "deployment_role", "instance", "status", "tags", "service"}, …]}. Exit status 1 (text output) when no instance matches.
            """)

    @OptionGroup var query: ServiceQueryOptions

    @Option(help: "The index of an earlier answer: wait until the answer differs from it.")
    var index: String?

    @Option(help: "With --index, the longest wait (e.g. 30s, 5m).")
    var wait = DurationArgument(milliseconds: 300_000)

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let (resolution, catalog) = try await withStore(store) { store -> (ServiceResolution, ServiceCatalog?) in
            guard index != nil else {
                let catalog = try await ServiceCatalog.read(from: store)
                return (catalog.resolve(query.query), catalog)
            }
            let resolution = try await ServiceCatalog.watch(query.query, in: store, after: index, timeout: .milliseconds(wait.milliseconds))
            // The services there are, read again only to say why nothing matched.
            return (resolution, resolution.instances.isEmpty ? try await ServiceCatalog.read(from: store) : nil)
        }
        let known = catalog?.services.map { $0.name } ?? []
        switch options.output {
        case .json: print(jsonText(resolution))
        case .text:
            let name = query.name
            guard !resolution.instances.isEmpty else {
                printError(
                    known.contains(name)
                        ? "\(name): no instance \(query.allRoles ? "" : "is a passing primary ")matches (mnctl service resolve \(name) --all-roles shows all)"
                        : "no service '\(name)' is registered" + (known.isEmpty ? "" : "; services: \(known.joined(separator: ", "))"))
                throw ExitStatus.failed
            }
            print(serviceTable(resolution.instances))
            print("index \(resolution.index)")
        }
    }
}

/// `mnctl service watch NAME [--tag T] [--all-roles] [--count N]`
struct ServiceWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print a service's instances, then again each time they change.",
        discussion: """
            The first answer at once, then one per change (blocking queries: no polling). With --output json, one line per answer, {"index", "instances"}, for a proxy or a script to follow.

              mnctl service watch web
              mnctl service watch web --all-roles --output json --count 3
            """)

    @OptionGroup var query: ServiceQueryOptions

    @Option(help: "Stop after this many answers (default: until interrupted).")
    var count: Int?

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
    }

    func run() async throws {
        try await withStore(store) { store in
            var index: String?
            var printed = 0
            while count.map({ printed < $0 }) ?? true {
                let resolution = try await ServiceCatalog.watch(query.query, in: store, after: index, timeout: .seconds(300))
                guard resolution.index != index else { continue }
                index = resolution.index
                printed += 1
                switch options.output {
                case .json: print(jsonLine(resolution))
                case .text:
                    print(resolution.instances.isEmpty ? "(no instance)" : serviceTable(resolution.instances))
                    print("index \(resolution.index)\n")
                }
                fflush(nil)
            }
        }
    }
}
