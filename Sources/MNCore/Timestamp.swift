/// A point in time as whole milliseconds since the Unix epoch.
///
/// The pure layers never read a clock: callers pass `now` as a `Timestamp`, so a
/// decision can be replayed exactly.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    /// Creates a timestamp from milliseconds since the epoch.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// This time moved by `ms` milliseconds, saturating at the ends of the range.
    public func adding(ms: Int64) -> Timestamp {
        let (sum, overflow) = milliseconds.addingReportingOverflow(ms)
        return Timestamp(milliseconds: overflow ? (ms > 0 ? .max : .min) : sum)
    }

    /// Milliseconds from `other` to `self` (negative when `self` is earlier), saturating.
    public func milliseconds(since other: Timestamp) -> Int64 {
        let (difference, overflow) = milliseconds.subtractingReportingOverflow(other.milliseconds)
        return overflow ? (other.milliseconds < 0 ? .max : .min) : difference
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String { "\(milliseconds)ms" }

    public init(from decoder: any Decoder) throws {
        milliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }
}
