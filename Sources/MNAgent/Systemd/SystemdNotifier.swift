import CSystemd

/// Tells systemd how the agent is doing (`sd_notify`): READY, STATUS, STOPPING and
/// WATCHDOG. Does nothing when the agent does not run under systemd (`NOTIFY_SOCKET` unset).
public struct SystemdNotifier: Sendable {
    /// Creates a notifier.
    public init() {}

    /// Sends `assignments` (such as `READY=1`, `STATUS=…`) as one notification.
    /// - Returns: Whether systemd was told (false without `NOTIFY_SOCKET`).
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        sd_notify(0, assignments.joined(separator: "\n")) > 0
    }

    /// The watchdog interval systemd asked for (`WATCHDOG_USEC`), if any.
    public var watchdogIntervalMs: Int64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return Int64(usec / 1_000)
    }
}
