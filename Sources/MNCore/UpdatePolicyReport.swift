/// The update policy as mn will run it: every field with its value (defaults filled in) and
/// where the value came from, and the strategy that will really run — what `validate`, `plan`,
/// `deployment deploy --dry-run` and `deployment status` show before anything acts.
public struct UpdatePolicyReport: Hashable, Sendable, Encodable {
    /// Where a value came from.
    public enum Source: String, Hashable, Sendable, Encodable {
        /// Written in the manifest.
        case manifest
        /// Given on the command line (it overrides the manifest).
        case flag
        /// Not written anywhere: the seed's default.
        case `default`
    }

    /// One field of `policies.update`.
    public struct Field: Hashable, Sendable, Encodable {
        /// The manifest's name for it (`max_parallel`).
        public var name: String
        /// As written in a manifest (`1`, `"rolling"`, `false`).
        public var value: JSONValue
        public var source: Source
    }

    /// Every field, in the manifest's order of the seed's table.
    public var fields: [Field]
    /// The strategy the update will run.
    public var strategy: UpdatePolicy.Strategy
    /// Why it is not the policy's strategy, when it is not.
    public var strategyReason: String?

    enum CodingKeys: String, CodingKey {
        case fields, strategy
        case strategyReason = "strategy_reason"
    }

    /// The report of `manifest`'s update policy. `document` is the manifest as written (a field
    /// present in it came from the manifest; `nil`: any value other than the default did),
    /// `flags` the fields a command line set; `previous` the version it updates, if any (a
    /// topology change makes any update a whole-job blue-green).
    public init(of manifest: Manifest, document: JSONValue?, flags: Set<String> = [], previous: Manifest? = nil) {
        let policy = manifest.policies.update
        let defaults = CanonicalJSON.tree(of: UpdatePolicy.Everything(.defaults))
        let values = CanonicalJSON.tree(of: UpdatePolicy.Everything(policy))
        var written: [String: JSONValue] = [:]
        if case .object(let top)? = document, case .object(let policies)? = top["policies"], case .object(let update)? = policies["update"] {
            written = update
        }
        fields = UpdatePolicy.Everything.names.map { name in
            let value = values[name] ?? .null
            let source: Source =
                if flags.contains(name) {
                    .flag
                } else if document != nil {
                    written[name] != nil ? .manifest : .default
                } else {
                    value == defaults[name] ? .default : .manifest
                }
            return Field(name: name, value: value, source: source)
        }
        if let previous, previous.topology != manifest.topology {
            strategy = .blueGreen
            strategyReason =
                policy.strategy == .blueGreen ? nil : "the update changes the topology (agents or edges): it runs as a whole-job blue-green"
        } else {
            strategy = policy.strategy
            strategyReason = nil
        }
    }
}

extension UpdatePolicy {
    /// Every field encoded, defaults included (a manifest's own encoding leaves defaults out).
    struct Everything: Encodable {
        let policy: UpdatePolicy

        init(_ policy: UpdatePolicy) { self.policy = policy }

        static let names = [
            "strategy", "max_parallel", "canary", "min_healthy_ms", "healthy_deadline_ms", "progress_deadline_ms", "health_check",
            "auto_promote", "auto_revert",
        ]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: UpdatePolicy.CodingKeys.self)
            try container.encode(policy.strategy, forKey: .strategy)
            try container.encode(policy.maxParallel, forKey: .maxParallel)
            try container.encode(policy.canary, forKey: .canary)
            try container.encode(policy.minHealthyMs, forKey: .minHealthyMs)
            try container.encode(policy.healthyDeadlineMs, forKey: .healthyDeadlineMs)
            try container.encode(policy.progressDeadlineMs, forKey: .progressDeadlineMs)
            try container.encode(policy.healthCheck, forKey: .healthCheck)
            try container.encode(policy.autoPromote, forKey: .autoPromote)
            try container.encode(policy.autoRevert, forKey: .autoRevert)
        }
    }
}

extension JSONValue {
    fileprivate subscript(name: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields[name]
    }
}
