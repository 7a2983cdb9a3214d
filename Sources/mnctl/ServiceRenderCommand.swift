import ArgumentParser
import Foundation
import MNAgent
import MNCore

/// `mnctl service render NAME --template haproxy|nginx|json [--out FILE] [--watch]`
struct ServiceRenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write a service's instances as a proxy's configuration, for software that cannot ask mn.",
        discussion: """
            haproxy gives a backend, nginx an upstream, json the answer of resolve. The file (--out) is replaced whole by a rename, never half-written, and only when its content changes; with --watch it follows every change (reload the proxy from its own file watch or a path unit).

              mnctl service render web --template nginx
              mnctl service render web --template haproxy --out /etc/haproxy/conf.d/web.cfg --watch
            """)

    enum Template: String, ExpressibleByArgument, CaseIterable {
        case haproxy, nginx, json
    }

    @OptionGroup var query: ServiceQueryOptions

    @Option(help: "The format: \(Template.allCases.map(\.rawValue).joined(separator: ", ")).")
    var template: Template

    @Option(help: "Write to this file (atomically) instead of standard output.")
    var out: String?

    @Flag(help: "Keep rendering on every change until interrupted.")
    var watch = false

    @OptionGroup var store: StoreOptions

    func run() async throws {
        try await withStore(store) { store in
            var index: String?
            repeat {
                let resolution = try await ServiceCatalog.watch(query.query, in: store, after: index, timeout: .seconds(300))
                guard resolution.index != index else { continue }
                index = resolution.index
                let text = Self.render(resolution, service: query.name, template: template)
                if let out {
                    try Self.replace(out, with: text)
                } else {
                    print(text, terminator: "")
                    fflush(nil)
                }
            } while watch
        }
    }

    /// The configuration `template` makes of `resolution`; instances without a host port are
    /// left out (no other host can reach them).
    static func render(_ resolution: ServiceResolution, service: String, template: Template) -> String {
        let reachable = resolution.instances.filter { $0.port != nil }
        let header = "# mn service \(service), index \(resolution.index): \(reachable.count) instance(s); written by mnctl service render\n"
        let name = service.map { $0.isLetter || $0.isNumber ? $0 : "_" }.map(String.init).joined()
        switch template {
        case .json:
            return jsonText(resolution) + "\n"
        case .haproxy:
            var text = header + "backend \(name)\n    balance roundrobin\n"
            for instance in reachable {
                text += "    server \(instance.node)-\(instance.instance.agent)-\(instance.instance.index) \(instance.address):\(instance.port!) check\n"
            }
            return text
        case .nginx:
            var text = header + "upstream \(name) {\n"
            for instance in reachable { text += "    server \(instance.address):\(instance.port!);\n" }
            // nginx refuses an empty upstream: a server marked down keeps the file valid.
            if reachable.isEmpty { text += "    server 127.0.0.1:9 down;\n" }
            return text + "}\n"
        }
    }

    /// Replaces `path` with `text` by writing a temporary file beside it and renaming it over,
    /// unless it already holds exactly that.
    static func replace(_ path: String, with text: String) throws {
        let data = Data(text.utf8)
        if FileManager.default.contents(atPath: path) == data { return }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
