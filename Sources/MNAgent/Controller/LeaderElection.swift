public import Logging
public import ServiceLifecycle
import Synchronization

/// Keeps this agent a candidate for the controller lease: takes it when it is free, renews
/// it while held, steps down at once when a renewal fails, and releases it on shutdown so
/// another agent takes over without waiting for the TTL.
///
/// ``term`` is the lease held now (if any); ``changes`` tells each new term and each step
/// down as it happens. The decisions are ``Leadership``'s; this service only performs them.
public final class LeaderElection: Service, Sendable {
    public let lease: LeaderLease
    private let logger: Logger
    private let state: Mutex<Leadership<ContinuousClock.Instant>>
    private let continuation: AsyncStream<LeaderLease.Term?>.Continuation

    /// Each new term when this agent starts to lead, `nil` when it stops.
    public let changes: AsyncStream<LeaderLease.Term?>

    /// A candidate for `lease`; a candidate retries every third of the TTL (or `retry`).
    public init(lease: LeaderLease, retry: Duration? = nil, logger: Logger) {
        self.lease = lease
        self.logger = logger
        state = Mutex(Leadership(ttl: lease.ttl, retry: retry))
        (changes, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// The lease this agent holds now, if it leads.
    public var term: LeaderLease.Term? { state.withLock { $0.term } }

    public func run() async throws {
        // A shutdown cancels the loop (and its sleep); then the lease is given back.
        await cancelWhenGracefulShutdown { await self.campaign() }
        if let term = state.withLock({ $0.resign() }) {
            continuation.yield(nil)
            do {
                try await lease.release(term)
                logger.info("released the controller lease", metadata: ["epoch": "\(term.epoch)"])
            } catch {
                logger.warning("could not release the controller lease; it expires by itself", metadata: ["error": "\(error)"])
            }
        }
        continuation.finish()
    }

    /// Performs ``Leadership``'s steps until cancelled.
    private func campaign() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            if let change = state.withLock({ $0.expired(at: clock.now) }) { announce(change) }
            let start = clock.now
            switch state.withLock({ $0.step(at: start) }) {
            case .wait(let until):
                try? await Task.sleep(until: until, clock: clock)
            case .acquire(let previous):
                do {
                    let result = try await lease.acquire(replacing: previous)
                    if let change = state.withLock({ $0.acquisition(result, startedAt: start) }) { announce(change) }
                } catch {
                    logger.debug("could not try for the controller lease", metadata: ["error": "\(error)"])
                    state.withLock { $0.acquisitionFailed(startedAt: start) }
                }
            case .renew(let term):
                let change: Leadership<ContinuousClock.Instant>.Change?
                do {
                    let held = try await lease.renew(term)
                    change = state.withLock { $0.renewal(held: held, startedAt: start) }
                } catch {
                    change = state.withLock { $0.renewalFailed("\(error)", startedAt: start) }
                }
                if let change { announce(change) }
            }
        }
    }

    private func announce(_ change: Leadership<ContinuousClock.Instant>.Change) {
        switch change {
        case .lead(let term):
            logger.notice("this agent is the cluster controller", metadata: ["epoch": "\(term.epoch)"])
            continuation.yield(term)
        case .stepDown(let term, let reason):
            logger.warning("stepped down as cluster controller: \(reason)", metadata: ["epoch": "\(term.epoch)"])
            continuation.yield(nil)
        }
    }
}
