public import MNCore

/// Which services have a passing primary instance somewhere in the cluster, with the tags of
/// each such instance: what `requires_services` is judged by.
public struct ServiceAvailability: Hashable, Sendable {
    /// Service name → the tag sets of its passing primaries.
    public var passing: [String: [Set<String>]]

    /// Creates an availability from each passing primary's service and tags.
    public init(passing instances: [(service: String, tags: [String])]) {
        var passing: [String: [Set<String>]] = [:]
        for instance in instances { passing[instance.service, default: []].append(Set(instance.tags)) }
        self.passing = passing
    }

    /// Whether `requirement` is met: some passing primary of its service carries all its tags.
    public func isMet(_ requirement: ServiceRequirement) -> Bool {
        passing[requirement.name]?.contains { Set(requirement.tags).isSubset(of: $0) } ?? false
    }

    /// The requirements of `spec` that are not met, required ones first, each in manifest order.
    public func unmet(by spec: AgentSpec) -> (required: [ServiceRequirement], optional: [ServiceRequirement]) {
        let unmet = spec.requiresServices.filter { !isMet($0) }
        return (unmet.filter(\.required), unmet.filter { !$0.required })
    }

    /// How a status names `requirements`: `web (tags: v2), db`.
    public static func describe(_ requirements: [ServiceRequirement]) -> String {
        requirements.map { $0.tags.isEmpty ? $0.name : "\($0.name) (tags: \($0.tags.joined(separator: ", ")))" }.joined(separator: ", ")
    }
}
