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
        get { box.fields.id }
        set { if newValue != box.fields.id { update { $0.id = newValue } } }
    }
    public var specHash: SpecHash {
        get { box.fields.specHash }
        set { if newValue != box.fields.specHash { update { $0.specHash = newValue } } }
    }
    /// A container was started for this spec at least once (so a missing one was lost, not never placed).
    public var started: Bool {
        get { box.fields.started }
        set { if newValue != box.fields.started { update { $0.started = newValue } } }
    }
    /// When the last restarts were issued, oldest first (at most the policy's `attempts`).
    public var restarts: [Timestamp] {
        get { box.fields.restarts }
        set { if newValue != box.fields.restarts { update { $0.restarts = newValue } } }
    }
    /// When the instance was first seen not running in the current outage.
    public var downSince: Timestamp? {
        get { box.fields.downSince }
        set { if newValue != box.fields.downSince { update { $0.downSince = newValue } } }
    }
    /// Why the last start, restart or replace failed, as the runtime said.
    public var lastError: String? {
        get { box.fields.lastError }
        set { if newValue != box.fields.lastError { update { $0.lastError = newValue } } }
    }
    /// The restart policy ran out in `fail` mode: no more restarts until the spec or the
    /// restart policy changes.
    public var exhausted: Bool {
        get { box.fields.exhausted }
        set { if newValue != box.fields.exhausted { update { $0.exhausted = newValue } } }
    }
    /// The restart policy the record was kept under; a different one clears ``exhausted``.
    public var restartPolicy: RestartPolicy? {
        get { box.fields.restartPolicy }
        set { if newValue != box.fields.restartPolicy { update { $0.restartPolicy = newValue } } }
    }
    /// A batch instance exited 0: it is done, even after its container is removed.
    public var completed: Bool {
        get { box.fields.completed }
        set { if newValue != box.fields.completed { update { $0.completed = newValue } } }
    }

    /// A fresh record for an instance that has not been started for `specHash`.
    public init(id: InstanceID, specHash: SpecHash) {
        box = Box(
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

    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// Copies the fields into a new box with `change` made (only called when a value differs).
    private mutating func update(_ change: (inout Fields) -> Void) {
        var fields = box.fields
        change(&fields)
        box = Box(fields)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.box === rhs.box || lhs.box.fields == rhs.box.fields }

    public func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }

    public init(from decoder: any Decoder) throws { box = Box(try Fields(from: decoder)) }

    public func encode(to encoder: any Encoder) throws { try box.fields.encode(to: encoder) }
}
