/// Reads JSON text into a ``JSONValue`` tree, strictly (RFC 8259), saying where it is wrong.
///
/// Foundation's decoder gives no position on every platform, keeps one value of a key that
/// appears twice, and reads `1.0` as the integer 1. This parser reports the first syntax
/// problem with its line and column, every duplicate key with its path, and keeps a number
/// written with a fraction or an exponent a ``JSONValue/double(_:)`` (so `max_parallel: 1.0`
/// is not a whole number). It never quotes the text: a manifest may hold secrets.
enum JSONParser {
    /// Parses `bytes` as one JSON document.
    /// - Throws: ``ManifestError`` with the syntax problem (at the document root, naming the
    ///   line and column), or with every duplicate key (at its path).
    static func parse(_ bytes: [UInt8]) throws(ManifestError) -> JSONValue {
        var scanner = Scanner(bytes: bytes)
        let value: JSONValue
        do throws(Failure) {
            scanner.skipWhitespace()
            value = try scanner.value(at: .root, depth: 0)
            scanner.skipWhitespace()
            if !scanner.atEnd { throw scanner.fail("unexpected text after the document") }
        } catch {
            let (line, column) = position(of: error.offset, in: bytes)
            throw ManifestError(problems: [ValidationProblem(path: .root, message: "not valid JSON: \(error.message) at line \(line), column \(column)")])
        }
        guard scanner.duplicates.isEmpty else { throw ManifestError(problems: scanner.duplicates) }
        return value
    }

    struct Failure: Error {
        let offset: Int
        let message: String
    }

    /// 1-based line and column (in bytes) of `offset`.
    private static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var offset = 0
        var duplicates: [ValidationProblem] = []

        /// Deeper nesting is refused rather than recursing without bound.
        static let maxDepth = 512

        init(bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { offset >= bytes.count }
        var current: UInt8? { atEnd ? nil : bytes[offset] }

        func fail(_ message: String) -> Failure {
            Failure(offset: offset, message: atEnd ? "the document ends early: \(message)" : message)
        }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { offset += 1 }
        }

        mutating func value(at path: FieldPath, depth: Int) throws(Failure) -> JSONValue {
            guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            guard let byte = current else { throw fail("expected a value (an object, array, string, number, true, false or null)") }
            switch byte {
            case UInt8(ascii: "{"): return try object(at: path, depth: depth)
            case UInt8(ascii: "["): return try array(at: path, depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: throw fail("expected a value (an object, array, string, number, true, false or null)")
            }
        }

        mutating func object(at path: FieldPath, depth: Int) throws(Failure) -> JSONValue {
            offset += 1
            var fields: [String: JSONValue] = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                offset += 1
                return .object(fields)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a field name in double quotes") }
                let key = try string()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':' after the field name") }
                offset += 1
                skipWhitespace()
                let value = try value(at: path.appending(key), depth: depth + 1)
                if fields[key] == nil {
                    fields[key] = value
                } else {
                    duplicates.append(ValidationProblem(path: path.appending(key), message: "appears twice in the same object; keep one"))
                }
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "}"):
                    offset += 1
                    return .object(fields)
                default: throw fail("expected ',' or '}' after a field")
                }
            }
        }

        mutating func array(at path: FieldPath, depth: Int) throws(Failure) -> JSONValue {
            offset += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                offset += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(at: path.appending(index: items.count), depth: depth + 1))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "]"):
                    offset += 1
                    return .array(items)
                default: throw fail("expected ',' or ']' after an element")
                }
            }
        }

        mutating func string() throws(Failure) -> String {
            let start = offset
            offset += 1
            var text: [UInt8] = []
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    offset += 1
                    guard let string = String(validating: text, as: UTF8.self) else {
                        throw Failure(offset: start, message: "a string that is not UTF-8 text")
                    }
                    return string
                case UInt8(ascii: "\\"):
                    offset += 1
                    guard let escaped = current else { throw fail("a string is not closed") }
                    offset += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "u"): text += try unicodeEscape()
                    default:
                        offset -= 1
                        throw fail("unknown escape in a string")
                    }
                case 0..<0x20:
                    throw fail("a control character (such as a line break) inside a string; escape it")
                default:
                    text.append(byte)
                    offset += 1
                }
            }
            throw fail("a string is not closed")
        }

        /// The UTF-8 of a `\uXXXX` escape (after the `u`), a surrogate pair taking two.
        mutating func unicodeEscape() throws(Failure) -> [UInt8] {
            let high = try hex4()
            var scalar: Unicode.Scalar?
            if (0xD800..<0xDC00).contains(high) {
                guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw fail("a \\u escape of a lone surrogate; write the character or its pair")
                }
                offset += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("a \\u escape of a lone surrogate; write the character or its pair") }
                scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            } else {
                scalar = Unicode.Scalar(high)
            }
            guard let scalar else { throw fail("a \\u escape of a lone surrogate; write the character or its pair") }
            return Array(String(Character(scalar)).utf8)
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current else { throw fail("expected four hex digits after \\u") }
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("expected four hex digits after \\u")
                }
                value = value * 16 + digit
                offset += 1
            }
            return value
        }

        mutating func number() throws(Failure) -> JSONValue {
            let start = offset
            var whole = true
            if current == UInt8(ascii: "-") { offset += 1 }
            guard let first = current, isDigit(first) else { throw fail("expected a digit") }
            offset += 1
            if first != UInt8(ascii: "0") { while let byte = current, isDigit(byte) { offset += 1 } }
            if current == UInt8(ascii: ".") {
                whole = false
                offset += 1
                guard let byte = current, isDigit(byte) else { throw fail("expected a digit after the decimal point") }
                while let byte = current, isDigit(byte) { offset += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                whole = false
                offset += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
                guard let byte = current, isDigit(byte) else { throw fail("expected a digit in the exponent") }
                while let byte = current, isDigit(byte) { offset += 1 }
            }
            let text = String(decoding: bytes[start..<offset], as: UTF8.self)
            if whole, let integer = Int64(text) { return .integer(integer) }
            return .double(Double(text) ?? .infinity)
        }

        mutating func literal(_ word: String) throws(Failure) {
            for byte in word.utf8 {
                guard current == byte else { throw fail("expected \(word)") }
                offset += 1
            }
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}
