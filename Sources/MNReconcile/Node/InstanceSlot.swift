public import MNCore

/// One instance at one spec: during an update an instance can have two slots (old and new
/// spec side by side), each with its own container, checks and restart record.
public struct InstanceSlot: Hashable, Sendable, CustomStringConvertible {
    public var instance: InstanceID
    public var specHash: SpecHash

    /// Creates a slot.
    public init(_ instance: InstanceID, _ specHash: SpecHash) {
        self.instance = instance
        self.specHash = specHash
    }

    /// `KEY/AGENT/INDEX@HASH12`.
    public var description: String { "\(instance)@\(specHash.short)" }
}

extension DesiredInstance {
    /// The slot it fills.
    public var slot: InstanceSlot { InstanceSlot(id, specHash) }
}

extension InstanceStatus {
    /// The slot it reports on.
    public var slot: InstanceSlot { InstanceSlot(id, specHash) }
}
