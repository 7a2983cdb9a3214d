/// The spelling rules for names that end up in container names, labels and Redis keys.
enum Names {
    /// Lowercase letters, digits, `-` and `_`; starts and ends with a letter or digit; 1–63 characters.
    static let rule = "use 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit"

    static func isValid(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...63).contains(scalars.count) else { return false }
        func alnum(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        guard alnum(scalars.first!), alnum(scalars.last!) else { return false }
        return scalars.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" }
    }

    /// An environment variable name: a letter or `_`, then letters, digits or `_`.
    static func isValidEnvironmentName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        guard let first = scalars.first, letter(first) else { return false }
        return scalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }

    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> String? {
        guard let text = reader.string(value, at: path) else { return nil }
        guard isValid(text) else {
            reader.problems.add(path, "'\(text)' is not a valid name; \(rule)")
            return nil
        }
        return text
    }
}
