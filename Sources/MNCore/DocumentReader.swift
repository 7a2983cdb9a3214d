/// Reads values out of a ``JSONValue`` tree, reporting every problem to a collector
/// instead of stopping at the first one.
///
/// Each `read…` returns `nil` after reporting a problem, so callers fall back to a
/// default and keep going: one pass finds every problem in the document.
struct DocumentReader {
    let problems: ProblemCollector

    func string(_ value: JSONValue, at path: FieldPath) -> String? {
        guard case .string(let text) = value else {
            problems.add(path, "must be a string, got \(describe(value))")
            return nil
        }
        return text
    }

    func nonEmptyString(_ value: JSONValue, at path: FieldPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard !text.allSatisfy(\.isWhitespace) else {
            problems.add(path, "must not be empty")
            return nil
        }
        return text
    }

    func bool(_ value: JSONValue, at path: FieldPath) -> Bool? {
        guard case .bool(let flag) = value else {
            problems.add(path, "must be true or false, got \(describe(value))")
            return nil
        }
        return flag
    }

    /// A whole number within `range`.
    func int(_ value: JSONValue, at path: FieldPath, in range: ClosedRange<Int> = 0...Int.max) -> Int? {
        let number: Int
        switch value {
        case .integer(let whole) where whole >= Int64(Int.min) && whole <= Int64(Int.max):
            number = Int(whole)
        default:
            // `1.0` and `1e3` are numbers with a fraction or an exponent, not whole numbers as written.
            problems.add(path, "must be a whole number, got \(describe(value))")
            return nil
        }
        if number < range.lowerBound {
            problems.add(path, "must be at least \(range.lowerBound), got \(number)")
            return nil
        }
        if number > range.upperBound {
            problems.add(path, "must be at most \(range.upperBound), got \(number)")
            return nil
        }
        return number
    }

    /// One of the raw values of `E`; an unknown value names the valid ones.
    func choice<E: CaseIterable & RawRepresentable>(_ value: JSONValue, at path: FieldPath, as _: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(value, at: path) else { return nil }
        if let match = E(rawValue: text) { return match }
        let valid = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let near = E.allCases.map(\.rawValue).filter { Spelling.isNearMiss(text, of: $0) }
        let hint = near.count == 1 ? "did you mean '\(near[0])'? " : ""
        problems.add(path, "unknown value '\(text)'; \(hint)must be one of \(valid)")
        return nil
    }

    /// An array whose elements are read by `element`; unreadable elements are dropped.
    func array<T>(_ value: JSONValue, at path: FieldPath, element: (JSONValue, FieldPath) -> T?) -> [T]? {
        indexedArray(value, at: path, element: element)?.map(\.value)
    }

    /// Like ``array(_:at:element:)``, keeping each element's index in the document, so later
    /// checks name the right element even when an earlier one could not be read.
    func indexedArray<T>(_ value: JSONValue, at path: FieldPath, element: (JSONValue, FieldPath) -> T?) -> [(index: Int, value: T)]? {
        guard case .array(let items) = value else {
            problems.add(path, "must be an array, got \(describe(value))")
            return nil
        }
        return items.enumerated().compactMap { index, item in element(item, path.appending(index: index)).map { (index, $0) } }
    }

    /// An object of string values (environment variables). Values may be secrets, so a
    /// problem names the field and the kind of value, never the value itself.
    func stringMap(_ value: JSONValue, at path: FieldPath) -> [String: String]? {
        guard case .object(let fields) = value else {
            problems.add(path, "must be an object of strings, got \(value.kindDescription)")
            return nil
        }
        var result: [String: String] = [:]
        for (key, item) in fields {
            if case .string(let text) = item {
                result[key] = text
            } else {
                problems.add(path.appending(key), "must be a string, got \(item.kindDescription); put numbers and booleans in quotes")
            }
        }
        return result
    }

    /// Opens an object whose fields are read through the returned ``ObjectFields``.
    func object(_ value: JSONValue, at path: FieldPath) -> ObjectFields? {
        guard case .object(let fields) = value else {
            problems.add(path, "must be an object, got \(describe(value))")
            return nil
        }
        return ObjectFields(path: path, fields: fields, reader: self)
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "the string \"\(text.count > 40 ? text.prefix(40) + "…" : Substring(text))\""
        case .integer(let number): "\(number)"
        case .double(let number): "\(number)"
        case .bool(let flag): "\(flag)"
        default: value.kindDescription
        }
    }
}

/// The fields of one object being read. Every field a caller asks for is known;
/// ``finish()`` reports the rest as unknown, so a typo is never silently dropped.
final class ObjectFields {
    let path: FieldPath
    let reader: DocumentReader
    private let fields: [String: JSONValue]
    private var known: [String] = []

    init(path: FieldPath, fields: [String: JSONValue], reader: DocumentReader) {
        self.path = path
        self.fields = fields
        self.reader = reader
    }

    /// Whether the document sets `key` (to anything but null).
    func has(_ key: String) -> Bool {
        if let value = fields[key], value != .null { return true }
        return false
    }

    /// Reads `key` if present and not null; absent means the caller's default.
    func optional<T>(_ key: String, _ read: (DocumentReader, JSONValue, FieldPath) -> T?) -> T? {
        known.append(key)
        guard let value = fields[key], value != .null else { return nil }
        return read(reader, value, path.appending(key))
    }

    /// Reads `key`, reporting it as required when absent.
    func required<T>(_ key: String, _ read: (DocumentReader, JSONValue, FieldPath) -> T?) -> T? {
        known.append(key)
        guard let value = fields[key], value != .null else {
            reader.problems.add(path.appending(key), "is required")
            return nil
        }
        return read(reader, value, path.appending(key))
    }

    /// Declares `key` as known without reading it (read elsewhere).
    func allow(_ key: String) { known.append(key) }

    /// Reports every field that no one asked for.
    func finish() {
        for key in fields.keys.sorted() where !known.contains(key) {
            var message = "unknown field"
            if let guess = closest(to: key) {
                message += "; did you mean '\(guess)'?"
            } else {
                message += "; allowed here: \(known.sorted().joined(separator: ", "))"
            }
            reader.problems.add(path.appending(key), message)
        }
    }

    private func closest(to key: String) -> String? {
        let scored = known.map { ($0, editDistance(key.lowercased(), $0)) }
        guard let best = scored.min(by: { ($0.1, $0.0) < ($1.1, $1.0) }) else { return nil }
        return best.1 <= max(2, key.count / 3) ? best.0 : nil
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        previous = current
    }
    return previous[b.count]
}
