import PropertyBased
import Testing

@testable import MNCore

@Suite("Container ids and spec hashes (CompactHex) behave as their text")
struct CompactHexTests {
    /// Texts that are digests, near-digests (63 or 65 digits, upper case, a non-hex letter) or
    /// short made-up ids, so that every comparison mixes both kinds of storage.
    static let text = zip(Gen.int(in: 0...5), Gen.int(in: 0...15).array(of: 64)).map { kind, nibbles in
        let digits = nibbles.map { String($0, radix: 16) }.joined()
        switch kind {
        case 0, 1: return digits
        case 2: return String(digits.dropLast())
        case 3: return digits + "0"
        case 4: return digits.uppercased()
        default: return "c" + String(nibbles[0] % 4)
        }
    }

    @Test("equality, order and hashing are those of the text; the text comes back unchanged")
    func sameAsText() async {
        await propertyCheck(count: 500, input: Self.text, Self.text) { a, b in
            let (x, y) = (ContainerID(a), ContainerID(b))
            #expect(x.rawValue == a && y.rawValue == b)
            #expect((x == y) == (a == b))
            #expect((x < y) == (a < b))
            if a == b { #expect(x.hashValue == y.hashValue) }
            #expect((SpecHash(a) < SpecHash(b)) == (a < b))
        }
    }

    @Test("a container id and a spec hash are plain data: copying one counts no references")
    func plainData() {
        // A reconcile copies these for every instance; a reference inside would cost an atomic
        // count per copy (see CompactHex).
        #expect(_isPOD(ContainerID.self))
        #expect(_isPOD(SpecHash.self))
    }

    @Test("a digest from bytes equals the digest read from its hex text")
    func digestFromBytes() {
        let bytes = (0..<32).map { UInt8($0 * 7 % 256) }
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(SpecHash(digest: bytes) == SpecHash(hex))
        #expect(SpecHash(digest: bytes).rawValue == hex)
    }
}
