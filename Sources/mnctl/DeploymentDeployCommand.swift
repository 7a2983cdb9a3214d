import ArgumentParser
import Foundation
import MNAgent
import MNCore

/// `mnctl deployment deploy PATH --key K --strategy S --max-parallel N --canary N`
struct DeploymentDeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy a manifest under a deployment key, optionally overriding its update policy.",
        discussion: """
            Like 'mnctl apply', with the options written into the manifest before it is validated: --key sets deployment.key, --strategy, --max-parallel and --canary set policies.update. PATH is a manifest file, or a bundle folder holding manifest.json, manifest.yaml or manifest.yml.

              mnctl deployment deploy Examples/web-v1.json --key web --strategy rolling --max-parallel 1
              mnctl deployment deploy Examples/web-v2.json --key web --strategy canary --canary 1
            """)

    @Argument(help: "A manifest file, or a bundle folder with manifest.json / manifest.yaml.")
    var path: String

    @Option(help: "The deployment key (overrides deployment.key).")
    var key: String?

    @Option(help: "rolling, canary or blue-green (overrides policies.update.strategy).")
    var strategy: String?

    @Option(name: .customLong("max-parallel"), help: "Most instances replaced at once (overrides policies.update.max_parallel).")
    var maxParallel: Int?

    @Option(help: "Canary instances to place before promotion (overrides policies.update.canary).")
    var canary: Int?

    @OptionGroup var store: StoreOptions
    @OptionGroup var pinning: PinOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let file = try Self.manifestFile(at: path)
        try await applyManifest(overridden(file), from: file, store: store, pin: pinning.pin, output: options)
    }

    /// The manifest file for PATH: the file itself, or a bundle folder's manifest.
    static func manifestFile(at path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        for name in ["manifest.json", "manifest.yaml", "manifest.yml"] {
            let candidate = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        printError("error: \(path) is a folder without manifest.json, manifest.yaml or manifest.yml")
        throw ExitCode(1)
    }

    /// The manifest with the command-line overrides written in, then validated as a whole.
    func overridden(_ file: String) -> Result<Manifest, ManifestError> {
        ManifestFile(path: file).read().flatMap { data in
            Result { () throws(ManifestError) in
                var tree = try JSONValue.parse(data, format: ManifestFormat(fileName: file) ?? ManifestFormat(sniffing: data))
                if let key { tree = tree.setting(["deployment", "key"], to: .string(key)) }
                if let strategy { tree = tree.setting(["policies", "update", "strategy"], to: .string(strategy)) }
                if let maxParallel { tree = tree.setting(["policies", "update", "max_parallel"], to: .integer(Int64(maxParallel))) }
                if let canary { tree = tree.setting(["policies", "update", "canary"], to: .integer(Int64(canary))) }
                return try Manifest(validating: tree)
            }
        }
    }
}

extension JSONValue {
    /// This object with the value at `path` set, creating objects on the way.
    func setting(_ path: [String], to value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        var fields: [String: JSONValue] = [:]
        if case .object(let existing) = self { fields = existing }
        fields[first] = (fields[first] ?? .object([:])).setting(Array(path.dropFirst()), to: value)
        return .object(fields)
    }
}
