/// When an agent tries for the controller lease, renews it and gives it up: events in,
/// the next step out, no I/O (the ``LeaderElection`` service performs the steps).
///
/// A leader counts its lease as valid until the TTL, less a safety margin, from the *start*
/// of its last successful acquisition or renewal: a reply that arrives late never extends
/// it. It renews at a third of the TTL, so two renewals can fail before it must stop; a
/// renewal that fails or is refused makes it step down at once.
struct Leadership<Instant: InstantProtocol> where Instant.Duration == Duration {
    /// The next thing to do.
    enum Step: Equatable {
        /// Try to take the lease (again, under a new epoch, if `replacing` is still ours).
        case acquire(replacing: LeaderLease.Term?)
        /// Renew the lease held under `term`.
        case renew(LeaderLease.Term)
        /// Nothing until `until`.
        case wait(until: Instant)
    }

    /// What changed for the rest of the agent.
    enum Change: Equatable {
        case lead(LeaderLease.Term)
        case stepDown(LeaderLease.Term, reason: String)
    }

    let ttl: Duration
    /// How long before the TTL a leader stops counting on its lease (clock rates differ).
    let margin: Duration
    /// How often a candidate tries for the lease.
    let retry: Duration

    private(set) var term: LeaderLease.Term?
    /// The last term this process held, offered back to the lease when acquiring.
    private var lastTerm: LeaderLease.Term?
    /// When the last successful acquisition or renewal started.
    private var heldSince: Instant?
    private var nextAttempt: Instant?

    /// Until when the current term can be counted on.
    var validUntil: Instant? { heldSince?.advanced(by: ttl - margin) }

    init(ttl: Duration, margin: Duration? = nil, retry: Duration? = nil) {
        self.ttl = ttl
        self.margin = margin ?? ttl / 10
        self.retry = retry ?? ttl / 3
    }

    /// What to do at `now`.
    func step(at now: Instant) -> Step {
        if let term, let heldSince {
            let renewAt = heldSince.advanced(by: ttl / 3)
            return now >= renewAt ? .renew(term) : .wait(until: renewAt)
        }
        if let nextAttempt, now < nextAttempt { return .wait(until: nextAttempt) }
        return .acquire(replacing: lastTerm)
    }

    /// An acquisition that started at `start` ended with `result`.
    mutating func acquisition(_ result: LeaderLease.Acquisition, startedAt start: Instant) -> Change? {
        switch result {
        case .acquired(let term):
            self.term = term
            lastTerm = term
            heldSince = start
            return .lead(term)
        case .heldBy:
            nextAttempt = start.advanced(by: retry)
            return nil
        }
    }

    /// An acquisition that started at `start` failed (Redis unreachable).
    mutating func acquisitionFailed(startedAt start: Instant) {
        nextAttempt = start.advanced(by: retry)
    }

    /// A renewal that started at `start` ended: `held` false means the lease was gone.
    mutating func renewal(held: Bool, startedAt start: Instant) -> Change? {
        guard term != nil else { return nil }
        if held {
            heldSince = start
            return nil
        }
        return stepDown("the lease expired or was taken", at: start)
    }

    /// A renewal that started at `start` failed: step down now, since writes may already be refused.
    mutating func renewalFailed(_ error: String, startedAt start: Instant) -> Change? {
        guard term != nil else { return nil }
        return stepDown("could not renew the lease: \(error)", at: start)
    }

    /// The wait ended at `now` without a renewal (the process was paused): the lease may be gone.
    mutating func expired(at now: Instant) -> Change? {
        guard term != nil, let validUntil, now >= validUntil else { return nil }
        return stepDown("the lease ran out before it could be renewed", at: now)
    }

    /// Gives up leadership (shutdown).
    mutating func resign() -> LeaderLease.Term? {
        defer {
            term = nil
            heldSince = nil
        }
        return term
    }

    private mutating func stepDown(_ reason: String, at now: Instant) -> Change? {
        guard let term else { return nil }
        self.term = nil
        heldSince = nil
        nextAttempt = now
        return .stepDown(term, reason: reason)
    }
}
