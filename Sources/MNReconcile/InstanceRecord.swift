public import MNCore

/// What the node remembers about one instance between reconciles, for its restart policy.
///
/// The reconciler returns updated records in every plan; the agent stores them and passes
/// them back next time. A record belongs to one spec hash: a changed spec starts afresh.
public struct InstanceRecord: Hashable, Sendable, Codable {
    public var id: InstanceID
    public var specHash: SpecHash
    /// A container was started for this spec at least once (so a missing one was lost, not never placed).
    public var started: Bool
    /// When the last restarts were issued, oldest first (at most the policy's `attempts`).
    public var restarts: [Timestamp]
    /// When the instance was first seen not running in the current outage.
    public var downSince: Timestamp?
    /// Why the last start, restart or replace failed, as the runtime said.
    public var lastError: String?
    /// The restart policy ran out in `fail` mode: no more restarts until the spec or the
    /// restart policy changes.
    public var exhausted: Bool
    /// The restart policy the record was kept under; a different one clears ``exhausted``.
    public var restartPolicy: RestartPolicy?
    /// A batch instance exited 0: it is done, even after its container is removed.
    public var completed: Bool

    /// A fresh record for an instance that has not been started for `specHash`.
    public init(id: InstanceID, specHash: SpecHash) {
        self.id = id
        self.specHash = specHash
        self.started = false
        self.restarts = []
        self.downSince = nil
        self.lastError = nil
        self.exhausted = false
        self.restartPolicy = nil
        self.completed = false
    }

    enum CodingKeys: String, CodingKey {
        case id, started, restarts, exhausted, completed
        case specHash = "spec_hash"
        case downSince = "down_since"
        case lastError = "last_error"
        case restartPolicy = "restart_policy"
    }
}
