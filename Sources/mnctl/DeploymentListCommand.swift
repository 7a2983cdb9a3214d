import ArgumentParser
import MNCore

/// `mnctl deployment list`
struct DeploymentListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every deployment with its latest version and state.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let views = try await withStore(store) { store in
            let reports = try await store.allReports()
            return try await store.deployments().map { DeploymentView($0, reports: reports) }
        }
        switch options.output {
        case .json: print(jsonText(views))
        case .text:
            guard !views.isEmpty else {
                print("No deployments yet. Create one with: mnctl apply MANIFEST")
                return
            }
            var rows = [["KEY", "VERSION", "STATUS", "INSTANCES", "UPDATED"]]
            for view in views {
                let running = view.instances.filter { $0.status.phase == .running }.count
                let updated = view.versions.last.map { formatTime($0.createdAt) } ?? "-"
                rows.append([
                    view.key.rawValue, "v\(view.latestVersion)", view.status, "\(running)/\(view.instances.count) running", updated,
                ])
            }
            print(table(rows))
        }
    }
}
