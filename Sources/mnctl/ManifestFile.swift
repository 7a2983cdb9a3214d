import Foundation
import MNCore

/// A manifest file as given on the command line (`-` for standard input).
struct ManifestFile {
    let path: String

    /// The bytes, or a problem naming the file when it cannot be read.
    func read() -> Result<Data, ManifestError> {
        if path == "-" { return .success(FileHandle.standardInput.readDataToEndOfFile()) }
        do {
            return .success(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            return .failure(
                ManifestError(problems: [ValidationProblem(path: .root, message: "cannot read \(path): \(reason)")]))
        }
    }

    /// The parsed, validated manifest; the format comes from the file name, else the content.
    func load() -> Result<Manifest, ManifestError> {
        loadDocument().map(\.manifest)
    }

    /// The validated manifest and the document as written (which fields it sets).
    func loadDocument() -> Result<(manifest: Manifest, document: JSONValue), ManifestError> {
        read().flatMap { data in
            Result { () throws(ManifestError) in
                let document = try JSONValue.parse(data, format: ManifestFormat(fileName: path) ?? ManifestFormat(sniffing: data))
                return (try Manifest(validating: document), document)
            }
        }
    }
}
