import ArgumentParser
import MNCore

/// `mnctl validate FILE…`
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests and list every problem with its field path.",
        discussion: """
            Prints OK and the update policy as it will run (every field, defaults filled in, and where each value came from) and exits 0 when every manifest is valid. Otherwise prints each problem as 'path: what is wrong' and exits 2, for example:

              policies.update.max_parallel: must be at least 1, got 0

            Unknown fields are errors, so a misspelt field is never silently ignored. Use '-' to read standard input. Nothing is written anywhere.
            """)

    @Argument(help: "Manifest files (.json, .yaml or .yml; '-' for standard input).")
    var files: [String]

    @OptionGroup var options: OutputOptions

    func run() throws {
        let report = Self.report(for: files.map(ManifestFile.init(path:)), format: options.output)
        print(report.text)
        if !report.valid { throw ExitStatus.invalid }
    }

    /// The result of validating one file, as printed by `--output json`.
    struct FileResult: Encodable {
        let file: String
        let valid: Bool
        let problems: [ValidationProblem]
        /// The update policy as it will run (a valid manifest's).
        let updatePolicy: UpdatePolicyReport?

        enum CodingKeys: String, CodingKey {
            case file, valid, problems
            case updatePolicy = "update_policy"
        }
    }

    /// What `validate` prints, and whether every file was valid.
    static func report(for files: [ManifestFile], format: OutputFormat) -> (text: String, valid: Bool) {
        let results = files.map { file -> FileResult in
            switch file.loadDocument() {
            case .success(let loaded):
                FileResult(
                    file: file.path, valid: true, problems: [],
                    updatePolicy: UpdatePolicyReport(of: loaded.manifest, document: loaded.document))
            case .failure(let error): FileResult(file: file.path, valid: false, problems: error.problems, updatePolicy: nil)
            }
        }
        let valid = results.allSatisfy(\.valid)
        switch format {
        case .json:
            return (jsonText(files.count == 1 ? AnyEncodable(results[0]) : AnyEncodable(results)), valid)
        case .text:
            var lines: [String] = []
            for result in results {
                let prefix = files.count == 1 ? "" : "\(result.file): "
                lines.append(result.valid ? prefix + "OK" : prefix + describe(result.problems, in: result.file))
                if let policy = result.updatePolicy { lines += describe(policy).map { "  " + $0 } }
            }
            return (lines.joined(separator: "\n"), valid)
        }
    }
}

/// The update policy as a table: `update policy (runs rolling):` then one line per field
/// with its value and where it came from.
func describe(_ policy: UpdatePolicyReport, title: String = "update policy") -> [String] {
    var header = "\(title) (runs \(policy.strategy.rawValue)):"
    if let reason = policy.strategyReason { header = "\(title) (runs \(policy.strategy.rawValue): \(reason)):" }
    let rows = policy.fields.map { field -> [String] in
        let value: String
        switch field.value {
        case .string(let text): value = text
        case .integer(let number): value = "\(number)"
        case .bool(let flag): value = "\(flag)"
        default: value = "\(field.value)"
        }
        return ["  \(field.name)", value, field.source.rawValue]
    }
    return [header] + table(rows).split(separator: "\n").map(String.init)
}

/// `N problems in FILE:` and one indented line per problem.
func describe(_ problems: [ValidationProblem], in file: String) -> String {
    let count = problems.count
    let header = "\(count) problem\(count == 1 ? "" : "s") in \(file):"
    return ([header] + problems.map { "  \($0)" }).joined(separator: "\n")
}

/// Encodes whichever value it wraps.
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
