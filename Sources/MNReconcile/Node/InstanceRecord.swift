public import MNCore

/// What the node remembers about one instance between reconciles, for its restart policy.
///
/// The reconciler returns updated records in every plan; the agent stores them and passes
/// them back next time. A record belongs to one spec hash: a changed spec starts afresh.
///
/// A record is one reference to copy, and setting a field to the value it has changes
/// nothing: a steady pass hands each record on as it came, without copying its fields.
public struct InstanceRecord: Hashable, Sendable, Codable {
    public var id: InstanceID {
        get { box.value.id }
        set { if newValue != box.value.id { box = box.changing { $0.id = newValue } } }
    }
    public var specHash: SpecHash {
        get { box.value.specHash }
        set { if newValue != box.value.specHash { box = box.changing { $0.specHash = newValue } } }
    }
    /// A container was started for this spec at least once (so a missing one was lost, not never placed).
    public var started: Bool {
        get { box.value.started }
        set { if newValue != box.value.started { box = box.changing { $0.started = newValue } } }
    }
    /// When the last restarts were issued, oldest first (at most the policy's `attempts`).
    public var restarts: [Timestamp] {
        get { box.value.restarts }
        set { if newValue != box.value.restarts { box = box.changing { $0.restarts = newValue } } }
    }
    /// When the instance was first seen not running in the current outage.
    public var downSince: Timestamp? {
        get { box.value.downSince }
        set { if newValue != box.value.downSince { box = box.changing { $0.downSince = newValue } } }
    }
    /// Why the last start, restart or replace failed, as the runtime said.
    public var lastError: String? {
        get { box.value.lastError }
        set { if newValue != box.value.lastError { box = box.changing { $0.lastError = newValue } } }
    }
    /// The restart policy ran out in `fail` mode: no more restarts until the spec or the
    /// restart policy changes.
    public var exhausted: Bool {
        get { box.value.exhausted }
        set { if newValue != box.value.exhausted { box = box.changing { $0.exhausted = newValue } } }
    }
    /// The restart policy the record was kept under; a different one clears ``exhausted``.
    public var restartPolicy: RestartPolicy? {
        get { box.value.restartPolicy }
        set { if newValue != box.value.restartPolicy { box = box.changing { $0.restartPolicy = newValue } } }
    }
    /// A batch instance exited 0: it is done, even after its container is removed.
    public var completed: Bool {
        get { box.value.completed }
        set { if newValue != box.value.completed { box = box.changing { $0.completed = newValue } } }
    }

    /// A fresh record for an instance that has not been started for `specHash`.
    public init(id: InstanceID, specHash: SpecHash) {
        box = Shared(
            Fields(
                id: id, specHash: specHash, started: false, restarts: [], downSince: nil, lastError: nil, exhausted: false,
                restartPolicy: nil, completed: false))
    }

    private struct Fields: Hashable, Sendable, Codable {
        var id: InstanceID
        var specHash: SpecHash
        var started: Bool
        var restarts: [Timestamp]
        var downSince: Timestamp?
        var lastError: String?
        var exhausted: Bool
        var restartPolicy: RestartPolicy?
        var completed: Bool

        enum CodingKeys: String, CodingKey {
            case id, started, restarts, exhausted, completed
            case specHash = "spec_hash"
            case downSince = "down_since"
            case lastError = "last_error"
            case restartPolicy = "restart_policy"
        }
    }

    private var box: Shared<Fields>

    /// Whether keeping a live container of this record's spec under `policy` leaves the record
    /// as it is: it says started, with no outage, error or exhaustion, under that policy, with
    /// restarts that need no trimming. Read in place, for the reconciler's steady case.
    func isKept(under policy: RestartPolicy) -> Bool {
        let fields = box
        guard fields.value.started, fields.value.downSince == nil, fields.value.lastError == nil, !fields.value.exhausted,
            fields.value.restartPolicy == policy, fields.value.restarts.count <= max(1, policy.attempts)
        else { return false }
        return fields.value.restarts.indices.dropFirst().allSatisfy { fields.value.restarts[$0 - 1] <= fields.value.restarts[$0] }
    }

    public init(from decoder: any Decoder) throws { box = Shared(try Fields(from: decoder)) }

    public func encode(to encoder: any Encoder) throws { try box.value.encode(to: encoder) }
}
