import Foundation

/// One immutable version of a deployment's manifest.
///
/// A version read whole (``init(stored:)``, `Decodable`) is checked then. One a transaction
/// reads only to write its record back (``init(number:lazilyFrom:)``) keeps its stored bytes
/// and reads them at the first use of a field other than `number`: a command that rolls back
/// to version 3 does not read the other 200.
public struct DeploymentVersion: Hashable, Sendable, Codable {
    /// 1 for the first version, then one more for each.
    public let number: Int
    private let storage: Storage

    public var manifest: Manifest { storage.fields.manifest }
    /// ``Manifest/contentHash`` of `manifest`.
    public var contentHash: SpecHash { storage.fields.contentHash }
    public var createdAt: Timestamp { storage.fields.createdAt }
    public var source: VersionSource { storage.fields.source }
    /// The bundle it was deployed from (the folder as given), if any.
    public var bundle: String? { storage.fields.bundle }

    /// Creates a version.
    public init(number: Int, manifest: Manifest, contentHash: SpecHash, createdAt: Timestamp, source: VersionSource, bundle: String? = nil) {
        self.number = number
        storage = Storage(Fields(manifest: manifest, contentHash: contentHash, createdAt: createdAt, source: source, bundle: bundle))
    }

    /// Version `number` from the bytes its versions hash holds, read at first use (then checked
    /// as ``init(stored:)`` checks; bytes that do not read stop the process, naming the version:
    /// only what mn wrote and checked before is read this way).
    public init(number: Int, lazilyFrom bytes: [UInt8]) {
        self.number = number
        storage = Storage(number: number, bytes: bytes)
    }

    /// Whether the fields were read (always, but for a lazy version not used yet).
    var isRead: Bool { storage.isRead }

    /// Whether an operator's rollback made this version (a copy of an earlier one).
    public var isRollback: Bool {
        if case .rollback = source { return true }
        return false
    }

    /// Whether this version was made by an automatic revert (and so is never reverted itself).
    public var isAutoRevert: Bool {
        if case .autoRevert = source { return true }
        return false
    }

    public static func == (a: Self, b: Self) -> Bool { a.number == b.number && a.storage.fields == b.storage.fields }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(number)
        hasher.combine(contentHash)
    }

    enum CodingKeys: String, CodingKey {
        case number, manifest, source, bundle
        case contentHash = "content_hash"
        case createdAt = "created_at"
    }

    /// Reads a version, checking that its manifest has its content hash.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            checking: container.decode(Int.self, forKey: .number), manifest: container.decode(Manifest.self, forKey: .manifest),
            contentHash: container.decode(SpecHash.self, forKey: .contentHash), createdAt: container.decode(Timestamp.self, forKey: .createdAt),
            source: container.decode(VersionSource.self, forKey: .source), bundle: container.decodeIfPresent(String.self, forKey: .bundle))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let fields = storage.fields
        try container.encode(number, forKey: .number)
        try container.encode(fields.manifest, forKey: .manifest)
        try container.encode(fields.contentHash, forKey: .contentHash)
        try container.encode(fields.createdAt, forKey: .createdAt)
        try container.encode(fields.source, forKey: .source)
        try container.encodeIfPresent(fields.bundle, forKey: .bundle)
    }

    /// A version read from storage: its manifest must have `contentHash`.
    init(checking number: Int, manifest: Manifest, contentHash: SpecHash, createdAt: Timestamp, source: VersionSource, bundle: String?)
        throws
    {
        guard manifest.contentHash == contentHash else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "version \(number)'s manifest does not match its content hash \(contentHash)"))
        }
        self.init(number: number, manifest: manifest, contentHash: contentHash, createdAt: createdAt, source: source, bundle: bundle)
    }

    /// Everything but the number.
    struct Fields: Hashable, Sendable {
        var manifest: Manifest
        var contentHash: SpecHash
        var createdAt: Timestamp
        var source: VersionSource
        var bundle: String?
    }

    /// The fields, or the stored bytes they are read from once, at first use (under a lock).
    final class Storage: @unchecked Sendable {
        private let lock = NSLock()
        private var read: Fields?
        private var stored: (number: Int, bytes: [UInt8])?

        init(_ fields: Fields) { read = fields }
        init(number: Int, bytes: [UInt8]) { stored = (number, bytes) }

        var isRead: Bool { lock.withLock { read != nil } }

        var fields: Fields {
            lock.withLock {
                if let read { return read }
                guard let (number, bytes) = stored else { preconditionFailure("a version holds neither fields nor bytes") }
                do {
                    let version = try DeploymentVersion(stored: bytes)
                    guard version.number == number else {
                        preconditionFailure("the stored version under number \(number) says it is version \(version.number)")
                    }
                    let fields = version.storage.fields
                    read = fields
                    stored = nil
                    return fields
                } catch {
                    preconditionFailure("stored version \(number) is unreadable: \(error)")
                }
            }
        }
    }
}
