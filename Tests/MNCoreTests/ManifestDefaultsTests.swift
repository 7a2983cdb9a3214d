import Foundation
import Testing

@testable import MNCore

@Suite("Manifest defaults")
struct ManifestDefaultsTests {
    static let minimal = #"{"deployment":{"key":"agent-api"},"agents":[{"id":"api","image":"localhost/api:1"}]}"#

    @Test("an absent policies.update gets the seed's defaults table")
    func updateDefaultsMatchTheSeedTable() throws {
        let manifest = try Manifest.parse(Data(Self.minimal.utf8))
        let update = manifest.policies.update
        #expect(update.strategy == .rolling)
        #expect(update.maxParallel == 1)
        #expect(update.canary == 0)
        #expect(update.minHealthyMs == 10_000)
        #expect(update.healthyDeadlineMs == 300_000)
        #expect(update.progressDeadlineMs == 600_000)
        #expect(update.healthCheck == .checks)
        #expect(update.autoPromote == false)
        #expect(update.autoRevert == false)
    }

    @Test("restart and reschedule default to seed 002's policies")
    func restartAndRescheduleDefaults() throws {
        let manifest = try Manifest.parse(Data(Self.minimal.utf8))
        let restart = manifest.policies.restart
        #expect(restart.attempts == 3)
        #expect(restart.intervalMs == 600_000)
        #expect(restart.delayMs == 1_000)
        #expect(restart.delayFunction == .exponential)
        #expect(restart.maxDelayMs == 30_000)
        #expect(restart.mode == .fail)
        let reschedule = manifest.policies.reschedule
        #expect(reschedule.unlimited == true)
        #expect(reschedule.delayMs == 5_000)
        #expect(reschedule.delayFunction == .exponential)
        #expect(reschedule.maxDelayMs == 300_000)
    }

    @Test("an agent gets type service, count 1, SIGTERM with 30 s grace, and no checks")
    func agentDefaults() throws {
        let manifest = try Manifest.parse(Data(Self.minimal.utf8))
        #expect(manifest.type == .service)
        let agent = try #require(manifest.agents.first)
        #expect(agent.count == 1)
        #expect(agent.lifecycle == Lifecycle(stopSignal: "SIGTERM", gracePeriodMs: 30_000))
        #expect(agent.healthChecks.isEmpty)
        #expect(agent.workload == .image("localhost/api:1"))
    }

    @Test("policies.scheduler.job_type (seed 002) is the job type: the same manifest as type, same content hash")
    func schedulerJobType() throws {
        let seed = #"{"deployment":{"key":"k"},"agents":[{"id":"a","image":"i"}],"policies":{"scheduler":{"job_type":"system"}}}"#
        let typed = #"{"deployment":{"key":"k"},"type":"system","agents":[{"id":"a","image":"i"}]}"#
        let fromSeed = try Manifest.parse(Data(seed.utf8))
        #expect(fromSeed.type == .system)
        #expect(fromSeed.contentHash == (try Manifest.parse(Data(typed.utf8))).contentHash)
    }

    @Test("a partly written policy keeps the defaults of the fields it omits")
    func partialPolicy() throws {
        let text = #"{"deployment":{"key":"k"},"agents":[{"id":"a","image":"i"}],"policies":{"update":{"max_parallel":3}}}"#
        let update = try Manifest.parse(Data(text.utf8)).policies.update
        #expect(update.maxParallel == 3)
        #expect(update.minHealthyMs == 10_000)
        #expect(update.strategy == .rolling)
    }

    @Test("the seed 000 manifest fields are accepted verbatim")
    func seedManifestParses() throws {
        let text = """
            {"deployment":{"key":"agent-api"},
             "agents":[{"id":"worker","image":"localhost/worker:1"}],
             "policies":{"update":{"strategy":"rolling","max_parallel":1,"canary":0,"min_healthy_ms":10000,
               "healthy_deadline_ms":300000,"progress_deadline_ms":600000,"health_check":"checks",
               "auto_promote":false,"auto_revert":false},
               "restart":{"attempts":3,"interval_ms":600000,"delay_ms":1000,"delay_function":"exponential",
                 "max_delay_ms":30000,"mode":"fail"},
               "reschedule":{"unlimited":true,"delay_ms":5000,"delay_function":"exponential","max_delay_ms":300000}}}
            """
        let explicit = try Manifest.parse(Data(text.utf8))
        let implicit = try Manifest.parse(
            Data(#"{"deployment":{"key":"agent-api"},"agents":[{"id":"worker","image":"localhost/worker:1"}]}"#.utf8))
        #expect(explicit == implicit)
    }
}
