import Synchronization

/// A string that is usually 64 lowercase hex digits (a SHA-256, a podman container id), held
/// as four words when it is: copied, compared and hashed without reference counting or
/// looking at 64 characters. Any other text is kept in a process-wide table and held by its
/// number there, so that a value of this type is plain data either way (copying it is a copy
/// of its bytes, which plans over many instances do a lot). Such texts are rare: made-up ids
/// in tests, ids typed by hand; podman's ids and mn's hashes are always digests. Equal texts
/// get one number, so equality is still equality of the text; a text never equals a digest,
/// and the order is always the order of the text.
struct CompactHex: Hashable, Comparable, Sendable {
    private enum Storage: Hashable, Sendable {
        /// 64 lowercase hex digits, as four big-endian words.
        case digest(UInt64, UInt64, UInt64, UInt64)
        /// Any other text: its number in ``texts``.
        case text(Int)
    }

    private let storage: Storage

    /// The texts that are not digests, numbered in the order they were first seen.
    private static let texts = Mutex(TextTable())

    private struct TextTable: ~Copyable {
        var numbers: [String: Int] = [:]
        var texts: [String] = []

        mutating func number(of text: String) -> Int {
            if let number = numbers[text] { return number }
            texts.append(text)
            numbers[text] = texts.count - 1
            return texts.count - 1
        }
    }

    /// Reads `text`: 64 lowercase hex digits become a digest.
    init(_ text: String) {
        if let words = Self.words(ofHex: text) {
            storage = .digest(words.0, words.1, words.2, words.3)
        } else {
            storage = .text(Self.texts.withLock { $0.number(of: text) })
        }
    }

    /// A digest from its first 32 bytes (there must be 32).
    init<Bytes: Sequence>(digest bytes: Bytes) where Bytes.Element == UInt8 {
        var words: [UInt64] = [0, 0, 0, 0]
        var count = 0
        for byte in bytes.prefix(32) {
            words[count / 8] = words[count / 8] << 8 | UInt64(byte)
            count += 1
        }
        precondition(count == 32, "a SHA-256 digest has 32 bytes")
        storage = .digest(words[0], words[1], words[2], words[3])
    }

    /// The text: the hex digits of a digest, or the text it was read from.
    var text: String {
        switch storage {
        case .text(let number): return Self.texts.withLock { $0.texts[number] }
        case .digest(let a, let b, let c, let d): return [a, b, c, d].map(Self.hex).joined()
        }
    }

    /// The first `count` characters of ``text`` (at most 16 are made from a digest's words).
    func prefix(_ count: Int) -> String {
        guard case .digest(let a, _, _, _) = storage, count <= 16 else { return String(text.prefix(count)) }
        return String(Self.hex(a).prefix(count))
    }

    static func < (lhs: Self, rhs: Self) -> Bool {
        if case .digest(let a0, let a1, let a2, let a3) = lhs.storage, case .digest(let b0, let b1, let b2, let b3) = rhs.storage {
            return (a0, a1, a2, a3) < (b0, b1, b2, b3)
        }
        return lhs.text < rhs.text
    }

    /// A word as 16 lowercase hex digits.
    private static func hex(_ word: UInt64) -> String {
        let digits = String(word, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func words(ofHex text: String) -> (UInt64, UInt64, UInt64, UInt64)? {
        guard text.utf8.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (position, byte) in text.utf8.enumerated() {
            let nibble: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            switch position / 16 {
            case 0: words.0 = words.0 << 4 | nibble
            case 1: words.1 = words.1 << 4 | nibble
            case 2: words.2 = words.2 << 4 | nibble
            default: words.3 = words.3 << 4 | nibble
            }
        }
        return words
    }
}
