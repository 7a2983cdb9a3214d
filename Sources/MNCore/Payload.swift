/// A file of a bundle's `payloads/` folder, by content: what a version's containers find,
/// read-only, under ``Payload/mountPath``.
///
/// Manifests name payloads by path and SHA-256 (`mnctl deployment deploy BUNDLE` fills them
/// in from the folder); the bytes are stored once per content in Redis and written to each
/// node that runs the version. A payload is part of what an instance runs: changing one
/// changes the version's content hash and the instances' hashes, so it rolls out like any
/// other change.
public struct Payload: Hashable, Sendable, Codable {
    /// Where it sits under the mount path: relative, `/`-separated, no `.` or `..` parts.
    public var path: String
    /// The SHA-256 of its bytes, 64 lowercase hex digits.
    public var sha256: String
    /// Its size in bytes.
    public var size: Int

    /// Creates a payload entry.
    public init(path: String, sha256: String, size: Int) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }

    /// Where containers find a version's payloads (read-only).
    public static let mountPath = "/mn/payloads"
    /// The largest payload file, in bytes (Redis keeps each in memory).
    public static let maxFileSize = 8 * 1024 * 1024
    /// The most a bundle's payloads may hold together, in bytes.
    public static let maxTotalSize = 32 * 1024 * 1024

    /// Why `path` cannot name a payload, or `nil` when it can.
    public static func problem(withPath path: String) -> String? {
        if path.isEmpty { return "must not be empty" }
        if path.hasPrefix("/") { return "must be relative to the payloads folder, got '\(path)'" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return "must be a plain relative path (no empty, '.' or '..' parts), got '\(path)'"
        }
        return nil
    }
}

extension Payload {
    /// A name for a set of payloads (the hash of their canonical list): part of the instance
    /// hash, and the folder a node writes them to; `nil` for none.
    public static func digest(of payloads: [Payload]) -> SpecHash? {
        payloads.isEmpty ? nil : SpecHash(of: CanonicalJSON.bytes(of: payloads.sorted { $0.path < $1.path }))
    }
}

extension Manifest {
    /// ``Payload/digest(of:)`` of the manifest's payloads.
    public var payloadDigest: SpecHash? { Payload.digest(of: payloads) }
}
