import ArgumentParser
import MNCore

/// `mnctl node list`
struct NodeListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every registered node: ready or down, the leader, capacity in use and instances.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let views = try await withStore(store) { try await $0.nodeViews() }
        switch options.output {
        case .json: print(jsonText(views))
        case .text:
            guard !views.isEmpty else {
                print("No nodes registered. Start mnagent on a host (mnagent --redis URL) and it registers itself.")
                return
            }
            var rows = [["NODE", "STATE", "ADDRESS", "CPU (m)", "MEMORY (MB)", "DEVICES", "INSTANCES"]]
            for view in views {
                rows.append([
                    view.id.rawValue, view.state, view.address, "\(view.allocated.cpuMillis)/\(view.capacity.cpuMillis)",
                    "\(view.allocated.memoryMB)/\(view.capacity.memoryMB)", view.deviceSummary, String(view.instances.values.reduce(0, +)),
                ])
            }
            print(table(rows))
        }
    }
}
