import Foundation
public import MNCore

/// Bundle payloads: their bytes in Redis by content (`mn:payload:SHA256`, written once), and
/// their copies on a node, one read-only folder per set of payloads, written whole or not at
/// all (into a staging folder, then renamed).
public struct PayloadStore: Sendable {
    public let redis: RedisClient

    /// Uses `redis` for every read and write.
    public init(redis: RedisClient) { self.redis = redis }

    /// Stores each file's bytes under its SHA-256, unless they are there already.
    public func store(_ files: [(payload: Payload, bytes: [UInt8])]) async throws {
        for (payload, bytes) in files {
            _ = try await redis.runBytes([Array("SET".utf8), Array(StoreKeys.payload(payload.sha256).utf8), bytes, Array("NX".utf8)])
        }
    }

    /// Writes `payloads` to `root/DIGEST` (unless a complete copy is there), each file checked
    /// against its hash, and returns that folder.
    /// - Throws: ``StoreError`` naming the payload that Redis lacks or that does not match.
    public func materialize(_ payloads: [Payload], under root: String) async throws -> String {
        guard let digest = Payload.digest(of: payloads) else { return root }
        let folder = (root as NSString).appendingPathComponent(digest.rawValue)
        let files = FileManager.default
        if files.fileExists(atPath: folder) { return folder }
        let staging = folder + ".partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? files.removeItem(atPath: staging) }
        for payload in payloads {
            guard let bytes = try await redis.run("GET", StoreKeys.payload(payload.sha256)).bytes else {
                throw StoreError("payload \(payload.path) (sha256 \(payload.sha256.prefix(12))) is not in Redis; deploy its bundle again")
            }
            guard SpecHash(of: bytes).rawValue == payload.sha256 else {
                throw StoreError("payload \(payload.path) in Redis does not match its sha256 \(payload.sha256.prefix(12)); deploy its bundle again")
            }
            let path = (staging as NSString).appendingPathComponent(payload.path)
            try files.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard files.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o444]) else {
                throw StoreError("cannot write payload \(payload.path) to \(staging)")
            }
        }
        try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        do {
            try files.moveItem(atPath: staging, toPath: folder)
        } catch where files.fileExists(atPath: folder) {
            // Another pass wrote the same folder meanwhile: the same content.
        }
        return folder
    }
}
