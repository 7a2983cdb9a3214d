/// Finds object keys that appear twice in one JSON object. Foundation's decoder keeps one
/// of the values and says nothing; a manifest must not lose a value silently.
enum JSONDuplicateKeys {
    /// Every duplicate, as a problem at the key's path. Call only on text that parsed as JSON.
    static func find(in bytes: [UInt8]) -> [ValidationProblem] {
        enum Frame {
            case object(path: FieldPath, keys: Set<String>, expectingKey: Bool, current: String?)
            case array(path: FieldPath, index: Int)
        }
        var stack: [Frame] = []
        var problems: [ValidationProblem] = []
        var position = 0

        func pathForValue() -> FieldPath {
            switch stack.last {
            case .object(let path, _, _, let current)?: path.appending(current ?? "")
            case .array(let path, let index)?: path.appending(index: index)
            case nil: .root
            }
        }

        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                let (text, end) = readString(bytes, from: position)
                position = end
                if case .object(let path, var keys, true, _)? = stack.last {
                    if !keys.insert(text).inserted {
                        problems.append(
                            ValidationProblem(path: path.appending(text), message: "appears twice in the same object; keep one"))
                    }
                    stack[stack.count - 1] = .object(path: path, keys: keys, expectingKey: false, current: text)
                }
                continue
            case UInt8(ascii: "{"):
                stack.append(.object(path: pathForValue(), keys: [], expectingKey: true, current: nil))
            case UInt8(ascii: "["):
                stack.append(.array(path: pathForValue(), index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let path, let keys, _, _)?:
                    stack[stack.count - 1] = .object(path: path, keys: keys, expectingKey: true, current: nil)
                case .array(let path, let index)?:
                    stack[stack.count - 1] = .array(path: path, index: index + 1)
                case nil: break
                }
            default: break
            }
            position += 1
        }
        return problems
    }

    /// The string starting at the quote at `start` (escapes kept as written) and the index after it.
    private static func readString(_ bytes: [UInt8], from start: Int) -> (String, Int) {
        var index = start + 1
        var content: [UInt8] = []
        while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] == UInt8(ascii: "\\") && index + 1 < bytes.count {
                content.append(bytes[index])
                index += 1
            }
            content.append(bytes[index])
            index += 1
        }
        return (String(decoding: content, as: UTF8.self), index + 1)
    }
}
