/// Where a value sits in a document: `policies.update.max_parallel`, `agents[1].ports[0].host_port`.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    var components: [Component]

    /// The document itself.
    public static let root = FieldPath(components: [])

    /// The path of the object field `key` under this path.
    public func appending(_ key: String) -> FieldPath { FieldPath(components: components + [.key(key)]) }

    /// The path of the array element `index` under this path.
    public func appending(index: Int) -> FieldPath { FieldPath(components: components + [.index(index)]) }

    /// The dotted form; `(document)` for the root.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "(document)" : text
    }
}
