import Foundation
import MNCore
import Testing

@Suite("Rollout state")
struct RolloutStateTests {
    let t0 = Timestamp(milliseconds: 1_000_000)

    @Test("units are stored by agent and index but read and written as agent/index in JSON, done sorted")
    func jsonKeepsUnitNames() throws {
        var state = RolloutState(target: 2, now: t0)
        state[RolloutUnit(agent: "web", index: 10)] = UnitProgress(placedAt: t0, healthySince: t0.adding(ms: 5), done: true)
        state[RolloutUnit(agent: "web", index: 2)] = UnitProgress(placedAt: t0)
        state[RolloutUnit(agent: "api-v2", index: 0)] = UnitProgress(placedAt: t0, done: true)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state)) as! [String: Any]
        #expect(json["done"] as? [String] == ["api-v2/0", "web/10"])
        #expect(Set((json["placed_at"] as? [String: Any] ?? [:]).keys) == ["web/10", "web/2", "api-v2/0"])
        #expect(Set((json["healthy_since"] as? [String: Any] ?? [:]).keys) == ["web/10"])
        let decoded = try JSONDecoder().decode(RolloutState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
        #expect(decoded.progress(of: "web").count == 11)
    }

    @Test("a state with the same progress is equal however it was written (no trailing empty units)")
    func equalityIgnoresHowUnitsWereWritten() {
        var a = RolloutState(target: 2, now: t0)
        var b = a
        a[RolloutUnit(agent: "web", index: 5)] = UnitProgress(placedAt: t0)
        a[RolloutUnit(agent: "web", index: 5)] = UnitProgress()
        #expect(a == b)
        b.setProgress([UnitProgress(), UnitProgress(done: true), UnitProgress(), UnitProgress()], of: "web")
        a.done = ["web/1"]
        #expect(a == b)
        #expect(a.progress(of: "web").count == 2)
    }

    @Test("a unit name that is not agent/index makes the record unreadable, naming the field")
    func badUnitNameIsRefused() {
        let json = #"{"target":2,"started_at":1,"last_progress_at":1,"placed_at":{"web":1},"healthy_since":{},"done":[]}"#
        #expect {
            try JSONDecoder().decode(RolloutState.self, from: Data(json.utf8))
        } throws: { error in
            "\(error)".contains("'web' is not a rollout unit")
        }
    }

    @Test("unit names parse at the last slash", arguments: [
        ("web/0", RolloutUnit(agent: "web", index: 0)), ("a-b/17", RolloutUnit(agent: "a-b", index: 17)),
    ])
    func unitNames(name: String, unit: RolloutUnit) {
        #expect(RolloutUnit(name) == unit)
        #expect(unit.description == name)
    }

    @Test("malformed unit names are refused", arguments: ["web", "/3", "web/", "web/-1", "web/x"])
    func malformedUnitNames(name: String) {
        #expect(RolloutUnit(name) == nil)
    }
}
