public import Logging
public import MNCore
import MNReconcile

/// The cluster controller's pass: read the cluster (``ClusterState``), decide
/// (``MNReconcile/ClusterReconciler``), and store what changed — records and assignments in
/// one fenced write, refused if this term lost the lease or a record changed since it was read.
///
/// Only the agent that holds the lease runs it. Assignments and the rollout step they take are
/// written together, before any node acts on them (intent before action).
public struct ClusterController: Sendable {
    public let store: DeploymentStore
    public let lease: LeaderLease
    private let logger: Logger
    private let cache = ClusterState.Cache()

    /// A controller storing through `store`, its writes fenced by `lease`.
    public init(store: DeploymentStore, lease: LeaderLease, logger: Logger) {
        self.store = store
        self.lease = lease
        self.logger = logger
    }

    /// One pass under `term` at `now`. Returns when to look again even if nothing changes (a
    /// deadline, a reschedule delay, the next heartbeat that could expire).
    /// - Throws: ``LeaderLease/Fenced`` when the term no longer holds the lease (nothing was
    ///   written); a store or Redis error otherwise. A record changed meanwhile (an operator's
    ///   command) is no error: the pass asks to be run again at once.
    public func pass(under term: LeaderLease.Term, at now: Timestamp) async throws -> Timestamp? {
        let state = try await ClusterState.read(from: store, cache: cache)
        let output = ClusterReconciler.reconcile(state.input(at: now))
        // A node whose heartbeat expires is seen down at once, not at the next resync: its
        // instances are lost from then, and rescheduled after their policy's delay.
        let wake = [output.requeueAt, state.nextExpiry(after: now)].compactMap { $0 }.min()
        guard !output.records.isEmpty || !output.assignments.isEmpty else { return wake }
        let (commands, guards) = try state.writes(of: output)
        do {
            try await lease.write(commands, under: term, unchanged: guards)
        } catch is LeaderLease.Conflict {
            logger.debug("a deployment changed while the controller decided; deciding again")
            return now
        }
        let before = Dictionary(state.deployments.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for record in output.records {
            let old = before[record.key]
            for event in record.events.dropFirst(Self.sharedPrefix(old?.events ?? [], record.events)) {
                logger.info("\(record.key): \(event.message)", metadata: ["version": "\(event.version)"])
            }
            if let unplaced = record.unplaced, unplaced != old?.unplaced { logger.warning("\(record.key): \(unplaced)") }
        }
        return wake
    }

    /// How many of `new`'s events `old` already had (the log is capped, so compare from the end of `old`).
    private static func sharedPrefix(_ old: [DeploymentEvent], _ new: [DeploymentEvent]) -> Int {
        guard let last = old.last, let index = new.lastIndex(of: last) else { return 0 }
        return index + 1
    }
}
