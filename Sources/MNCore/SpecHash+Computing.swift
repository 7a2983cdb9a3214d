import Crypto

extension SpecHash {
    /// The SHA-256 of `bytes`, in lowercase hex.
    public init(of bytes: [UInt8]) {
        self.init(SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined())
    }
}

extension AgentSpec {
    /// The canonical bytes of what an instance runs: the whole spec with defaults filled in,
    /// except `count`, which says how many instances run, not what each one is.
    public var canonicalInstanceBytes: [UInt8] {
        guard case .object(var fields) = CanonicalJSON.tree(of: self) else { preconditionFailure("an agent encodes as an object") }
        fields["count"] = nil
        return CanonicalJSON.bytes(.object(fields))
    }

    /// The hash that identifies this spec on a container (`mn.spec-hash`).
    ///
    /// A changed spec is detected by comparing these bytes, never by comparing fields a
    /// runtime reports back (seed 004's redeploy-loop fix).
    public var specHash: SpecHash { SpecHash(of: canonicalInstanceBytes) }
}

extension Manifest {
    /// The manifest's canonical bytes, defaults filled in: the form stored as a version.
    public var canonicalBytes: [UInt8] { CanonicalJSON.bytes(of: self) }

    /// The hash of ``canonicalBytes``: equal for two documents that mean the same manifest.
    public var contentHash: SpecHash { SpecHash(of: canonicalBytes) }
}
