/// A rule a node must meet to run an agent's instances: `constraints[]` at the top of a
/// manifest (for every agent) or on one agent (`agents[].constraints[]`), for example
/// `{"attribute": "meta.rack", "operator": "=", "value": "r1"}`.
///
/// A node without the attribute meets no constraint on it, whatever the operator.
public struct PlacementConstraint: Hashable, Sendable {
    /// What a constraint compares the node's attribute with.
    public enum Test: Hashable, Sendable {
        /// `=`: the attribute is exactly this text.
        case equals(String)
        /// `!=`: the attribute is set and is not this text.
        case notEquals(String)
        /// `in`: the attribute is one of these texts (`value` is an array).
        case oneOf([String])
        /// `regexp`: the attribute contains a match of this regular expression (anchor it
        /// with `^…$` to match the whole value).
        case matches(String)
        /// `version`: the attribute, read as a dotted version, is within this range.
        case version(VersionRange)
    }

    /// The operators a manifest may name, as written.
    public enum Operator: String, CaseIterable, Sendable {
        case equals = "="
        case notEquals = "!="
        case oneOf = "in"
        case regexp
        case version
    }

    public var attribute: NodeAttribute
    public var test: Test

    /// Creates a constraint.
    public init(_ attribute: NodeAttribute, _ test: Test) {
        self.attribute = attribute
        self.test = test
    }

    /// The operator as a manifest writes it.
    public var `operator`: Operator {
        switch test {
        case .equals: .equals
        case .notEquals: .notEquals
        case .oneOf: .oneOf
        case .matches: .regexp
        case .version: .version
        }
    }

    /// `attribute operator value`, as people read it: `meta.rack = r1`, `os in [linux, freebsd]`.
    public var summary: String {
        switch test {
        case .equals(let value), .notEquals(let value), .matches(let value): "\(attribute) \(self.operator.rawValue) \(value)"
        case .oneOf(let values): "\(attribute) in [\(values.joined(separator: ", "))]"
        case .version(let range): "\(attribute) version \(range)"
        }
    }
}

/// A node attribute a constraint can name.
public enum NodeAttribute: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `node.id`: the node's id (what `--node` on apply pins to).
    case nodeID
    /// `os`: the operating system, as Swift names it (`linux`).
    case os
    /// `arch`: the CPU architecture (`x86_64`, `aarch64`).
    case arch
    /// `hostname`.
    case hostname
    /// `meta.KEY`: an operator-set value from the agent config's `meta`.
    case meta(String)

    /// The attributes every node has, as written.
    public static let builtIn: [NodeAttribute] = [.nodeID, .os, .arch, .hostname]

    /// Reads an attribute name: `node.id`, `os`, `arch`, `hostname` or `meta.KEY`.
    public init?(_ text: String) {
        if let builtIn = Self.builtIn.first(where: { $0.description == text }) {
            self = builtIn
        } else if text.hasPrefix("meta."), text.count > "meta.".count {
            self = .meta(String(text.dropFirst("meta.".count)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .nodeID: "node.id"
        case .os: "os"
        case .arch: "arch"
        case .hostname: "hostname"
        case .meta(let key): "meta.\(key)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}

/// A range of dotted versions, such as `>= 1.2, < 2`: every clause must hold.
///
/// A version is compared by its leading numbers (`6.1.0-18-amd64` is 6.1.0; a leading `v` is
/// ignored); missing parts count as 0, so `2` equals `2.0.0`.
public struct VersionRange: Hashable, Sendable, CustomStringConvertible {
    /// One comparison of a range.
    public struct Clause: Hashable, Sendable {
        public enum Comparison: String, CaseIterable, Sendable {
            // Two-character operators first, so that reading tries them before their prefixes.
            case atLeast = ">=", atMost = "<=", notEqual = "!=", greater = ">", less = "<", equal = "="
        }

        public var comparison: Comparison
        public var version: [Int]
    }

    public var clauses: [Clause]

    /// Reads `>= 1.2, < 2` (clauses separated by commas; a bare version means `=`). `nil` when
    /// a clause is not an operator followed by a version.
    public init?(_ text: String) {
        var clauses: [Clause] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var rest = Substring(part.trimmingSpaces())
            let comparison = Clause.Comparison.allCases.first { rest.hasPrefix($0.rawValue) } ?? .equal
            if rest.hasPrefix(comparison.rawValue) { rest = rest.dropFirst(comparison.rawValue.count) }
            guard let version = Self.numbers(of: String(rest.trimmingSpaces()), strict: true) else { return nil }
            clauses.append(Clause(comparison: comparison, version: version))
        }
        guard !clauses.isEmpty else { return nil }
        self.clauses = clauses
    }

    /// Whether `text`, read as a version, is within the range (`false` when it has no leading number).
    public func contains(_ text: String) -> Bool {
        guard let version = Self.numbers(of: text, strict: false) else { return false }
        return clauses.allSatisfy { clause in
            let order = Self.compare(version, clause.version)
            switch clause.comparison {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .greater: return order > 0
            case .atLeast: return order >= 0
            case .less: return order < 0
            case .atMost: return order <= 0
            }
        }
    }

    public var description: String {
        clauses.map { "\($0.comparison.rawValue) \($0.version.map(String.init).joined(separator: "."))" }.joined(separator: ", ")
    }

    /// The dotted numbers at the start of `text` (after an optional `v`). `strict`: nothing may follow.
    private static func numbers(of text: String, strict: Bool) -> [Int]? {
        var rest = Substring(text)
        if rest.first == "v" { rest = rest.dropFirst() }
        var numbers: [Int] = []
        while let digits = rest.prefix(while: \.isASCIIDigit).nonEmpty, let number = Int(digits) {
            numbers.append(number)
            rest = rest.dropFirst(digits.count)
            guard rest.first == ".", rest.dropFirst().first?.isASCIIDigit == true else { break }
            rest = rest.dropFirst()
        }
        guard !numbers.isEmpty, !strict || rest.isEmpty else { return nil }
        return numbers
    }

    private static func compare(_ a: [Int], _ b: [Int]) -> Int {
        for index in 0..<max(a.count, b.count) {
            let (x, y) = (index < a.count ? a[index] : 0, index < b.count ? b[index] : 0)
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Substring {
    fileprivate var nonEmpty: Substring? { isEmpty ? nil : self }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> SubSequence {
        let start = firstIndex { $0 != " " } ?? endIndex
        let end = lastIndex { $0 != " " }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
