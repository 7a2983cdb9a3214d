/// One thing wrong with a manifest: where, and what to do about it.
public struct ValidationProblem: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The field's path, as printed (`policies.update.max_parallel`).
    public var path: String
    /// A sentence a person can act on (`must be at least 1, got 0`).
    public var message: String

    /// Creates a problem at `path`.
    public init(path: FieldPath, message: String) {
        self.path = path.description
        self.message = message
    }

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}

/// A manifest that could not be accepted, with every problem found in it.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// All problems, in the order the reader checks fields (stable for a given document).
    public var problems: [ValidationProblem]

    /// Creates an error from a non-empty list of problems.
    public init(problems: [ValidationProblem]) { self.problems = problems }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Accumulates problems while a document is read and checked.
final class ProblemCollector {
    private(set) var problems: [ValidationProblem] = []

    func add(_ path: FieldPath, _ message: String) {
        problems.append(ValidationProblem(path: path, message: message))
    }
}
