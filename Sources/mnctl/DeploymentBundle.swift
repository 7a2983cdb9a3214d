import Foundation
import MNCore

/// A bundle folder (seed 000's "bundle reference"): `manifest.json`, `manifest.yaml` or
/// `manifest.yml`, and an optional `payloads/` folder whose files every container of the
/// version finds read-only under ``MNCore/Payload/mountPath``.
struct DeploymentBundle {
    /// The folder, as an absolute path: what the version records.
    let folder: String
    let manifestFile: String
    /// Every file under `payloads/`, by path, with its bytes.
    let files: [(payload: Payload, bytes: [UInt8])]

    var payloads: [Payload] { files.map(\.payload) }

    /// Why a bundle cannot be read.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The bundle at `path` when it is a folder; `nil` when it is a file (a manifest).
    /// - Throws: ``Problem`` for a path that is neither, a folder without a manifest, a symlink
    ///   that leaves the bundle, or payloads above the size limits.
    static func open(_ path: String) throws -> DeploymentBundle? {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Problem(description: "\(path): no such file or folder (give a manifest file or a bundle folder)")
        }
        guard isDirectory.boolValue else { return nil }
        let folder = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        guard let manifest = ["manifest.json", "manifest.yaml", "manifest.yml"].lazy.map({ (folder as NSString).appendingPathComponent($0) })
            .first(where: files.fileExists(atPath:))
        else {
            throw Problem(description: "\(path) is a folder without manifest.json, manifest.yaml or manifest.yml")
        }
        try checkInside(manifest, folder: folder, shown: (manifest as NSString).lastPathComponent)
        return DeploymentBundle(folder: folder, manifestFile: manifest, files: try payloadFiles(in: folder))
    }

    /// Every regular file under `folder/payloads`, sorted by path.
    private static func payloadFiles(in folder: String) throws -> [(payload: Payload, bytes: [UInt8])] {
        let root = (folder as NSString).appendingPathComponent("payloads")
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: root, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { throw Problem(description: "payloads in \(folder) is a file; it must be a folder") }
        try checkInside(root, folder: folder, shown: "payloads")
        var result: [(payload: Payload, bytes: [UInt8])] = []
        var total = 0
        for relative in (files.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted() {
            let full = (root as NSString).appendingPathComponent(relative)
            let shown = "payloads/\(relative)"
            try checkInside(full, folder: folder, shown: shown)
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            if let problem = Payload.problem(withPath: relative) { throw Problem(description: "\(shown): the path \(problem)") }
            guard let data = files.contents(atPath: full) else { throw Problem(description: "\(shown): cannot be read") }
            guard data.count <= Payload.maxFileSize else {
                throw Problem(description: "\(shown): \(data.count) bytes; a payload file may hold at most \(Payload.maxFileSize)")
            }
            total += data.count
            guard total <= Payload.maxTotalSize else {
                throw Problem(description: "payloads: more than \(Payload.maxTotalSize) bytes together; keep large data out of the bundle")
            }
            let bytes = [UInt8](data)
            result.append((Payload(path: relative, sha256: SpecHash(of: bytes).rawValue, size: bytes.count), bytes))
        }
        return result
    }

    /// Refuses a path whose symlinks lead outside the bundle folder.
    private static func checkInside(_ path: String, folder: String, shown: String) throws {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard real == folder || real.hasPrefix(folder + "/") else {
            throw Problem(description: "\(shown) is a symlink to \(real), outside the bundle \(folder); copy the file into the bundle")
        }
    }
}
