import ArgumentParser

/// A duration given on the command line: `500ms`, `90s`, `30m`, `2h`, or parts together
/// (`1h30m`); `0s` is zero (commands that need a positive one say so).
struct DurationArgument: ExpressibleByArgument, Hashable, Sendable {
    let milliseconds: Int64

    /// A duration of `milliseconds`.
    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        guard !argument.isEmpty else { return nil }
        var rest = Substring(argument)
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            total += product
        }
        guard total > 0 || argument.allSatisfy({ $0 == "0" || $0.isLetter }) else { return nil }
        milliseconds = total
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// As it would be typed: `1h`, `30m`, `90s`, `1h30m`, `500ms`.
    var defaultValueDescription: String {
        var rest = milliseconds
        var parts = ""
        for (unit, factor) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1_000), ("ms", 1)] where rest >= factor {
            parts += "\(rest / factor)\(unit)"
            rest %= factor
        }
        return parts
    }
}
