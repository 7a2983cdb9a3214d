public import MNCore
public import MNReconcile

/// What an agent last saw and decided on its node, written after every pass.
public struct NodeReport: Hashable, Sendable, Codable {
    public var node: NodeID
    /// When the pass ran.
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
