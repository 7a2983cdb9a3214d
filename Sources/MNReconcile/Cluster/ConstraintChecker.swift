import MNCore

/// Evaluates placement constraints against nodes, with each regular expression compiled once
/// per placement.
struct ConstraintChecker {
    private let patterns: [String: Regex<AnyRegexOutput>]

    /// A checker for the constraints of `requests`.
    init(requests: [Placement.Request]) {
        self.init(constraints: requests.flatMap(\.constraints))
    }

    /// A checker for `constraints`.
    init(constraints: [PlacementConstraint]) {
        var patterns: [String: Regex<AnyRegexOutput>] = [:]
        for constraint in constraints {
            // Validation compiled every manifest pattern already; one that still fails matches nothing.
            if case .matches(let pattern) = constraint.test, patterns[pattern] == nil { patterns[pattern] = try? Regex(pattern) }
        }
        self.patterns = patterns
    }

    /// Why `node` does not meet `constraint` (`nil` when it does): `needs meta.rack = r1, has r2`.
    func unmet(_ constraint: PlacementConstraint, on node: NodeInfo) -> String? {
        guard let value = node.value(of: constraint.attribute) else {
            return "needs \(constraint.summary), has no \(constraint.attribute)"
        }
        let met: Bool
        switch constraint.test {
        case .equals(let wanted): met = value == wanted
        case .notEquals(let unwanted): met = value != unwanted
        case .oneOf(let values): met = values.contains(value)
        case .matches(let pattern): met = patterns[pattern].map { value.contains($0) } ?? false
        case .version(let range): met = range.contains(value)
        }
        return met ? nil : "needs \(constraint.summary), has \(value.isEmpty ? "''" : value)"
    }
}
