import Foundation
public import MNCore

extension Timestamp {
    /// The wall-clock time now. Only the impure layers read the clock.
    public static func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1_000).rounded()))
    }
}
