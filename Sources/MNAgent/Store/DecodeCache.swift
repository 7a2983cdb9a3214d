import Foundation
import Synchronization

/// Values decoded from stored JSON, by key, kept with the bytes they came from: reading the
/// same bytes again returns the value without decoding (a fleet's reports and assignments are
/// read on every pass and change only where something happened).
final class DecodeCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: (bytes: [UInt8], value: Value)]>([:])

    init() {}

    /// The value of `bytes` stored under `key`, decoded by `decode` unless the bytes are those
    /// decoded last time.
    func value(of key: Key, bytes: [UInt8], decode: ([UInt8]) throws -> Value) rethrows -> Value {
        if let hit = entries.withLock({ $0[key] }), hit.bytes == bytes { return hit.value }
        let value = try decode(bytes)
        entries.withLock { $0[key] = (bytes, value) }
        return value
    }
}
