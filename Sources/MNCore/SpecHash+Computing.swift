import Crypto

extension SpecHash {
    /// The SHA-256 of `bytes`, in lowercase hex.
    public init(of bytes: [UInt8]) {
        self.init(digest: SHA256.hash(data: bytes))
    }
}

extension AgentSpec {
    /// The canonical bytes of what an instance runs: the whole spec with defaults filled in,
    /// except `count` (how many instances run) and `constraints` (where they run), which do
    /// not change what each one is.
    public var canonicalInstanceBytes: [UInt8] {
        guard case .object(var fields) = CanonicalJSON.tree(of: self) else { preconditionFailure("an agent encodes as an object") }
        fields["count"] = nil
        fields["constraints"] = nil
        return CanonicalJSON.bytes(.object(fields))
    }

    /// The hash of this spec alone. Containers carry ``Manifest/instanceHash(of:)``, which adds
    /// the job's topology.
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

extension Manifest {
    /// The job's graph: its agent ids and edges, sorted. Two versions with the same topology
    /// can replace changed agents one by one; a topology change is rolled out as a whole-job
    /// blue-green (seed 000's same-topology rule).
    public struct Topology: Hashable, Sendable {
        public var agents: [AgentID]
        public var edges: [TopologyEdge]
    }

    /// The agent ids and edges of this manifest, sorted.
    public var topology: Topology {
        Topology(agents: agents.map(\.id).sorted(), edges: edges.sorted())
    }

    /// The hash that identifies an instance of `agent` on a container (`mn.spec-hash`): the
    /// agent's canonical spec together with the job's topology. An unchanged agent keeps its
    /// hash (and its container) across a same-topology update; a topology change gives every
    /// agent a new hash, so the whole job is placed again beside the old one.
    public func instanceHash(of agent: AgentSpec) -> SpecHash {
        let topology = self.topology
        var graph: [String: JSONValue] = [
            "agents": .array(topology.agents.map { .string($0.rawValue) }),
            "edges": .array(topology.edges.map { .array([.string($0.from.rawValue), .string($0.to.rawValue)]) }),
        ]
        // Payloads are part of what every instance runs; without any, hashes stay as they were.
        if let digest = payloadDigest { graph["payloads"] = .string(digest.rawValue) }
        let graphValue = JSONValue.object(graph)
        return SpecHash(of: agent.canonicalInstanceBytes + Array("\n".utf8) + CanonicalJSON.bytes(graphValue))
    }
}
