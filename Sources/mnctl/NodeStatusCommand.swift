import ArgumentParser
import MNCore

/// `mnctl node status NODE`
struct NodeStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one node: attributes, capacity and allocation, devices and its instances by deployment.")

    @Argument(help: "The node id, as 'mnctl node list' shows it.")
    var node: String

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let views = try await withStore(store) { try await $0.nodeViews() }
        guard let view = views.first(where: { $0.id.rawValue == node }) else {
            let known = views.map(\.id.rawValue)
            printError("error: no node '\(node)' is registered" + (known.isEmpty ? "" : "; nodes: \(known.joined(separator: ", "))"))
            throw ExitStatus.failed
        }
        switch options.output {
        case .json: print(jsonText(view))
        case .text:
            var lines = [
                "Node:       \(view.id)",
                "State:      \(view.state)",
                "Address:    \(view.address)",
                "Host:       \(view.hostname) (\(view.os)/\(view.arch))",
                "CPU:        \(view.allocated.cpuMillis) of \(view.capacity.cpuMillis) millicores allocated",
                "Memory:     \(view.allocated.memoryMB) of \(view.capacity.memoryMB) MB allocated",
                "Last pass:  \(view.lastPass.map(formatTime) ?? "never")",
            ]
            if !view.meta.isEmpty {
                lines.append("Meta:       " + view.meta.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            }
            lines.append(view.devices.isEmpty ? "Devices:    none" : "Devices:")
            for device in view.devices {
                let details = [device.driver, device.name, device.memoryMB.map { "\($0) MB" }].compactMap { $0 }.joined(separator: ", ")
                lines.append("  \(device.kind) \(device.id)" + (details.isEmpty ? "" : " (\(details))"))
            }
            lines.append(view.instances.isEmpty ? "Instances:  none" : "Instances:")
            for (key, count) in view.instances.sorted(by: { $0.key < $1.key }) { lines.append("  \(key): \(count)") }
            if !view.kept.isEmpty {
                lines.append("Kept:       \(view.kept.count) containers of deployments the store does not know (was Redis emptied?), running untouched:")
                for kept in view.kept {
                    lines.append("  \(kept.deployment): \(kept.container.rawValue.prefix(12))" + (kept.instance.map { " (\($0))" } ?? ""))
                }
                lines.append("  Apply their manifests again to adopt them (same spec: same containers), or remove them with podman rm.")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
