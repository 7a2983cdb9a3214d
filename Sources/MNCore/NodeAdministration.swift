/// What operators decided about a node (`mnctl node eligibility`, `drain`, `undrain`), kept
/// apart from what its agent registers: it survives the agent's re-registration and a change
/// of controller.
public struct NodeAdministration: Hashable, Sendable, Codable {
    /// Whether new instances may be placed there.
    public var eligible: Bool
    /// Why it was made ineligible, if it was.
    public var reason: String?
    /// The drain in progress, if any: the node is ineligible while it lasts.
    public var drain: NodeDrain?

    /// Eligible, not draining: a node no operator has touched.
    public static let none = NodeAdministration(eligible: true)

    /// Creates a state.
    public init(eligible: Bool, reason: String? = nil, drain: NodeDrain? = nil) {
        self.eligible = eligible
        self.reason = reason
        self.drain = drain
    }
}

/// A drain: the node's service instances move elsewhere (each replacement healthy before the
/// original stops), batch runs may finish, and at `deadline` whatever is left is stopped.
public struct NodeDrain: Hashable, Sendable, Codable {
    public var reason: String
    /// Who asked (`user@host`).
    public var by: String
    public var since: Timestamp
    public var deadline: Timestamp

    /// Creates a drain.
    public init(reason: String, by: String, since: Timestamp, deadline: Timestamp) {
        self.reason = reason
        self.by = by
        self.since = since
        self.deadline = deadline
    }
}
