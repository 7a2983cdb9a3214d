import Testing

@testable import MNAgent

/// An instant on a test's own time line, in milliseconds.
struct TestInstant: InstantProtocol {
    var ms: Int64
    func advanced(by duration: Duration) -> TestInstant { TestInstant(ms: ms + duration.milliseconds) }
    func duration(to other: TestInstant) -> Duration { .milliseconds(other.ms - ms) }
    static func < (lhs: Self, rhs: Self) -> Bool { lhs.ms < rhs.ms }
}

@Suite("Leadership: when to acquire, renew and step down")
struct LeadershipTests {
    static let term = LeaderLease.Term(value: #"{"epoch":7,"node":"a","token":"t1"}"#)!
    static let other = LeaderLease.Term(value: #"{"epoch":8,"node":"b","token":"t2"}"#)!

    func at(_ ms: Int64) -> TestInstant { TestInstant(ms: ms) }

    @Test("a candidate tries, then retries every third of the TTL while someone else holds the lease")
    func candidate() {
        var leadership = Leadership<TestInstant>(ttl: .seconds(9))
        #expect(leadership.step(at: at(0)) == .acquire(replacing: nil))
        #expect(leadership.acquisition(.heldBy(Self.other), startedAt: at(0)) == nil)
        #expect(leadership.step(at: at(1_000)) == .wait(until: at(3_000)))
        #expect(leadership.step(at: at(3_000)) == .acquire(replacing: nil))
        leadership.acquisitionFailed(startedAt: at(3_000))
        #expect(leadership.step(at: at(3_001)) == .wait(until: at(6_000)))
    }

    @Test("a leader renews at a third of the TTL from the start of its last renewal, and stays leader while renewals succeed")
    func leader() {
        var leadership = Leadership<TestInstant>(ttl: .seconds(9))
        #expect(leadership.acquisition(.acquired(Self.term), startedAt: at(100)) == .lead(Self.term))
        #expect(leadership.term == Self.term)
        #expect(leadership.validUntil == at(100 + 9_000 - 900))
        #expect(leadership.step(at: at(2_000)) == .wait(until: at(3_100)))
        #expect(leadership.step(at: at(3_100)) == .renew(Self.term))
        // The reply came late: validity counts from when the renewal started.
        #expect(leadership.renewal(held: true, startedAt: at(3_100)) == nil)
        #expect(leadership.validUntil == at(3_100 + 8_100))
        #expect(leadership.expired(at: at(11_199)) == nil)
    }

    @Test("a refused or failed renewal steps down at once; a later acquisition offers the old term back")
    func stepDown() {
        var refused = Leadership<TestInstant>(ttl: .seconds(9))
        _ = refused.acquisition(.acquired(Self.term), startedAt: at(0))
        #expect(refused.renewal(held: false, startedAt: at(3_000)) == .stepDown(Self.term, reason: "the lease expired or was taken"))
        #expect(refused.term == nil)
        #expect(refused.step(at: at(3_000)) == .acquire(replacing: Self.term))

        var failed = Leadership<TestInstant>(ttl: .seconds(9))
        _ = failed.acquisition(.acquired(Self.term), startedAt: at(0))
        #expect(failed.renewalFailed("connection refused", startedAt: at(3_000)) == .stepDown(Self.term, reason: "could not renew the lease: connection refused"))
        #expect(failed.term == nil)
    }

    @Test("a leader that wakes after its lease ran out (a pause) steps down before doing anything")
    func paused() {
        var leadership = Leadership<TestInstant>(ttl: .seconds(9))
        _ = leadership.acquisition(.acquired(Self.term), startedAt: at(0))
        #expect(leadership.expired(at: at(8_099)) == nil)
        #expect(leadership.expired(at: at(8_100)) == .stepDown(Self.term, reason: "the lease ran out before it could be renewed"))
        #expect(leadership.step(at: at(8_100)) == .acquire(replacing: Self.term))
    }

    @Test("resigning hands back the term to release, once")
    func resign() {
        var leadership = Leadership<TestInstant>(ttl: .seconds(9))
        _ = leadership.acquisition(.acquired(Self.term), startedAt: at(0))
        #expect(leadership.resign() == Self.term)
        #expect(leadership.resign() == nil)
    }
}
