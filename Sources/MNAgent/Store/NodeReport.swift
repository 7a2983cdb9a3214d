public import MNCore
public import MNReconcile

/// What an agent last saw and decided on its node, written after a pass whenever it changed
/// (the time of every pass is in ``StoreKeys/nodes``).
public struct NodeReport: Hashable, Sendable, Codable {
    public var node: NodeID
    /// When the pass that wrote it ran.
    public var at: Timestamp
    /// Every desired instance, with the container that serves it.
    public var instances: [InstanceStatus]
    /// The restart records the next pass continues from.
    public var records: [InstanceRecord]

    /// Creates a report.
    public init(node: NodeID, at: Timestamp, instances: [InstanceStatus], records: [InstanceRecord]) {
        self.node = node
        self.at = at
        self.instances = instances
        self.records = records
    }
}
