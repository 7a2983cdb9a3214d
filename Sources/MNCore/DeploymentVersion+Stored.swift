import Foundation

extension DeploymentVersion {
    /// A version from the JSON the store keeps (what its `Encodable` conformance writes), read
    /// with MNCore's own parser and manifest reader: Foundation's decoder costs several times
    /// more, and a controller, an agent and every `mnctl` transaction read versions.
    /// - Throws: ``ManifestError`` when the text or its manifest is not valid, or
    ///   `DecodingError` when a field of the version itself is missing or of the wrong kind, or
    ///   its manifest does not have its content hash.
    public init(stored bytes: [UInt8]) throws {
        guard case .object(let fields) = try JSONParser.parse(bytes),
            case .integer(let number)? = fields["number"], case .string(let hash)? = fields["content_hash"],
            case .integer(let createdAt)? = fields["created_at"], let source = fields["source"], let manifest = fields["manifest"]
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "a stored version needs number, content_hash, created_at, source and manifest"))
        }
        var bundle: String?
        if case .string(let given)? = fields["bundle"] { bundle = given }
        let problems = ProblemCollector()
        guard let read = Manifest.read(DocumentReader(problems: problems), manifest, .root), problems.problems.isEmpty else {
            throw ManifestError(problems: problems.problems)
        }
        try self.init(
            checking: Int(number), manifest: read, contentHash: SpecHash(hash), createdAt: Timestamp(milliseconds: createdAt),
            // The source is a few bytes: its own decoder keeps the legacy forms in one place.
            source: try JSONDecoder().decode(VersionSource.self, from: Data(CanonicalJSON.bytes(source))), bundle: bundle)
    }
}
