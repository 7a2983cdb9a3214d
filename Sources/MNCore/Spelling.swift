/// Near misses of names, for "did you mean" hints.
public enum Spelling {
    /// Whether `text` looks like a slip for `name`: the same but for case, `-` / `_`, or at
    /// most two letters' edits.
    public static func isNearMiss(_ text: String, of name: String) -> Bool {
        func plain(_ s: String) -> [Character] { Array(s.lowercased().filter { $0 != "-" && $0 != "_" }) }
        let (a, b) = (plain(text), plain(name))
        if a == b { return true }
        guard abs(a.count - b.count) <= 2, !a.isEmpty else { return false }
        // Levenshtein distance, one row at a time.
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count] <= min(2, b.count / 3)
    }
}
