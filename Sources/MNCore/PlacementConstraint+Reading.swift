extension PlacementConstraint {
    /// A `constraints` array.
    static func readList(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> [PlacementConstraint]? {
        reader.array(value, at: path) { read(reader, $0, $1) }
    }

    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> PlacementConstraint? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let attribute = fields.required("attribute") { r, v, p -> NodeAttribute? in
            guard let text = r.nonEmptyString(v, at: p) else { return nil }
            guard let attribute = NodeAttribute(text) else {
                r.problems.add(
                    p, "unknown node attribute '\(text)'; use node.id, os, arch, hostname or meta.KEY (a value set in the agent config's meta)")
                return nil
            }
            return attribute
        }
        let op = fields.required("operator") { $0.choice($1, at: $2, as: Operator.self) }
        guard let op else {
            fields.allow("value")
            return nil
        }
        let test = fields.required("value") { r, v, p in readTest(op, r, v, p) }
        guard let attribute, let test else { return nil }
        return PlacementConstraint(attribute, test)
    }

    /// The value of a constraint with operator `op`: an array of strings for `in`, a string
    /// (a valid pattern, a valid version range) for the others.
    private static func readTest(_ op: Operator, _ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Test? {
        switch op {
        case .oneOf:
            guard case .array = value else {
                reader.problems.add(path, "must be an array of strings for operator 'in', such as [\"r1\", \"r2\"]")
                return nil
            }
            guard let values = reader.array(value, at: path, element: { reader.nonEmptyString($0, at: $1) }) else { return nil }
            guard !values.isEmpty else {
                reader.problems.add(path, "must list at least one value")
                return nil
            }
            return .oneOf(values)
        case .equals:
            return reader.nonEmptyString(value, at: path).map(Test.equals)
        case .notEquals:
            return reader.nonEmptyString(value, at: path).map(Test.notEquals)
        case .regexp:
            guard let pattern = reader.nonEmptyString(value, at: path) else { return nil }
            do {
                _ = try Regex(pattern)
            } catch {
                reader.problems.add(path, "'\(pattern)' is not a valid regular expression: \(error)")
                return nil
            }
            return .matches(pattern)
        case .version:
            guard let text = reader.nonEmptyString(value, at: path) else { return nil }
            guard let range = VersionRange(text) else {
                reader.problems.add(path, "'\(text)' is not a version range; write comparisons of dotted versions, such as '>= 1.2, < 2'")
                return nil
            }
            return .version(range)
        }
    }
}

extension PlacementConstraint: Encodable {
    enum CodingKeys: String, CodingKey { case attribute, `operator`, value }

    /// Writes the form a manifest reads: `{"attribute", "operator", "value"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attribute.description, forKey: .attribute)
        try container.encode(self.operator.rawValue, forKey: .operator)
        switch test {
        case .equals(let value), .notEquals(let value), .matches(let value): try container.encode(value, forKey: .value)
        case .oneOf(let values): try container.encode(values, forKey: .value)
        case .version(let range): try container.encode(range.description, forKey: .value)
        }
    }
}
