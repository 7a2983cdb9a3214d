public import MNCore

/// Where mn keeps its state in Redis. Per-deployment keys carry a hash tag (`{KEY}`) so a
/// Redis Cluster keeps them in one slot.
public enum StoreKeys {
    /// Set of every deployment key.
    public static let deployments = "mn:deployments"
    /// Hash: node id → when its agent last finished a pass (ms since the epoch).
    public static let nodes = "mn:nodes"
    /// Set of every node id that registered (see ``NodeRegistry``).
    public static let registry = "mn:registry"
    /// The cluster controller's lease (JSON: epoch, node, token), set with a TTL (see ``LeaderLease``).
    public static let leader = "mn:leader"
    /// The lease's fencing epoch: incremented on every acquisition, never reset.
    public static let leaderEpoch = "mn:leader:epoch"
    /// Channel: a deployment key an operator changed (apply, rollback, pause, …); the
    /// controller wakes up.
    public static let changes = "mn:changes"
    /// Channel: a node id whose assignment the controller changed; that node's agent wakes up.
    public static let assigned = "mn:assigned"
    /// Channel: a node id whose report or verdict changed; the controller wakes up.
    public static let reported = "mn:reported"

    /// The deployment record (JSON): status, rollout, health, events, runs; its versions are
    /// kept apart in ``versions(_:)``.
    public static func deployment(_ key: DeploymentKey) -> String { "mn:{\(key)}:deployment" }
    /// Hash: version number → the immutable version (JSON: manifest, content hash, source).
    public static func versions(_ key: DeploymentKey) -> String { "mn:{\(key)}:versions" }
    /// Hash: node id → its verdict on the version it was asked to check (JSON ``MNReconcile/ValidationVerdict``).
    public static func verdicts(_ key: DeploymentKey) -> String { "mn:{\(key)}:verdicts" }

    /// What the controller assigned to the node (JSON ``MNReconcile/NodeAssignment``). Missing:
    /// the node was never told anything (which is not "run nothing").
    public static func assignment(_ node: NodeID) -> String { "mn:node:\(node):assignment" }
    /// What operators decided about the node (JSON ``NodeAdministration``): eligibility, drain.
    public static func nodeAdministration(_ node: NodeID) -> String { "mn:node:\(node):admin" }
    /// What the node's agent registered about its host (JSON ``NodeInfo``).
    public static func nodeInfo(_ node: NodeID) -> String { "mn:node:\(node):info" }
    /// Present while the node's agent heartbeats: set with the heartbeat TTL, so Redis's own
    /// clock decides when a node is down (no clock skew between hosts).
    public static func nodeAlive(_ node: NodeID) -> String { "mn:node:\(node):alive" }
    /// When the node's alive key expires (or expired), in milliseconds on Redis's clock: kept
    /// after it expired, so the controller knows since when a node is down.
    public static func nodeExpires(_ node: NodeID) -> String { "mn:node:\(node):expires" }
    /// A payload file's bytes, by their SHA-256 (written once; see ``PayloadStore``).
    public static func payload(_ sha256: String) -> String { "mn:payload:\(sha256)" }
    /// The node's own report (JSON): instances, their containers, restart records.
    public static func report(_ node: NodeID) -> String { "mn:node:\(node):report" }
}
