import Foundation
import Testing

@testable import MNCore

@Suite("Manifest edge cases")
struct ManifestEdgeCaseTests {
    @Test("durations past 30 days are refused instead of overflowing later")
    func hugeDurations() {
        let found = problems(document(extra: #""policies":{"restart":{"interval_ms":9223372036854775807}}"#))
        #expect(found == ["policies.restart.interval_ms: must be at most 2592000000, got 9223372036854775807"])
    }

    @Test("timestamps saturate instead of trapping")
    func saturatingTime() {
        #expect(Timestamp(milliseconds: .max - 1).adding(ms: 10) == Timestamp(milliseconds: .max))
        #expect(Timestamp(milliseconds: .min).milliseconds(since: Timestamp(milliseconds: 1)) == .min)
    }

    @Test("a YAML syntax error says where, without quoting the document")
    func yamlErrorsDoNotQuote() {
        let yaml = "deployment: {key: web}\nagents:\n  - id: web\n    image: i\n    env:\n      PASSWORD: \"hunter2\n"
        let found = problems(yaml, format: .yaml)
        #expect(found.count == 1)
        #expect(found.first?.contains("line") == true, "\(found)")
        #expect(!found.joined().contains("hunter2"), "the secret leaked: \(found)")
    }

    @Test("printing a spec never shows env values")
    func specDescriptionRedacts() throws {
        let spec = AgentSpec(id: "web", workload: .image("i"), env: ["DB_PASSWORD": "hunter2"])
        for text in ["\(spec)", String(reflecting: spec), "\([spec])", "\(Optional(spec) as Any)"] {
            #expect(!text.contains("hunter2"), "leaked in: \(text)")
            #expect(text.contains("DB_PASSWORD"))
        }
    }

    @Test("system and sysbatch manifests survive encode and decode")
    func systemRoundTrip() throws {
        for type in ["system", "sysbatch"] {
            let manifest = try Manifest.parse(Data(#"{"deployment":{"key":"k"},"type":"\#(type)","agents":[{"id":"a","image":"i"}]}"#.utf8))
            #expect(try JSONDecoder().decode(Manifest.self, from: JSONEncoder().encode(manifest)) == manifest)
        }
    }

    @Test("the canonical form leaves defaults out, so new defaulted fields never change a hash")
    func canonicalIsMinimal() throws {
        let agent = try #require(
            try Manifest.parse(Data(document(agents: #"[{"id":"web","image":"i","count":1,"lifecycle":{"grace_period_ms":30000}}]"#).utf8))
                .agents.first)
        #expect(String(decoding: agent.canonicalInstanceBytes, as: UTF8.self) == #"{"id":"web","image":"i"}"#)
        let manifest = try Manifest.parse(Data(document().utf8))
        #expect(
            String(decoding: manifest.canonicalBytes, as: UTF8.self)
                == #"{"agents":[{"id":"web","image":"localhost/web:1"}],"deployment":{"key":"web"}}"#)
    }

    @Test("a problem after an unreadable element names the element's index in the document")
    func documentIndices() {
        let found = problems(document(extra: #""edges":[{"from":"web"},{"from":"web","to":"zz"}]"#))
        #expect(found.sorted() == ["edges[0].to: is required", "edges[1].to: no agent 'zz' in this manifest (agents: web)"])
        let ports = problems(
            document(
                agents:
                    #"[{"id":"web","image":"i","ports":[{"name":"a","container_port":0},{"name":"b","container_port":80}],"health_checks":[{"kind":"tcp","port":81}]}]"#
            ))
        #expect(
            ports.contains("agents[0].health_checks[0].port: 81 is not a container port of agent 'web' (declared: 80); add it under ports"))
        #expect(ports.contains("agents[0].ports[0].container_port: must be at least 1, got 0"))
    }

    @Test("a key written twice in one JSON object is an error at its path, not a silently dropped value")
    func duplicateKeys() {
        let found = problems(
            #"{"deployment":{"key":"web"},"agents":[{"id":"a","image":"i:1"},{"id":"web","image":"i:1","env":{"X":"{\"","X":"2"},"image":"i:2"}]}"#
        )
        #expect(
            found.sorted() == [
                "agents[1].env.X: appears twice in the same object; keep one",
                "agents[1].image: appears twice in the same object; keep one",
            ])
        #expect(
            problems(#"{"a":{"k":1},"b":{"k":2},"deployment":{"key":"web"},"agents":[{"id":"web","image":"i"}]}"#).allSatisfy {
                !$0.contains("twice")
            })
    }

    @Test("an unreadable strategy is reported once, with no follow-on about the default")
    func noFollowOn() {
        let found = problems(document(extra: #""policies":{"update":{"strategy":"canery","canary":2}}"#))
        #expect(found == ["policies.update.strategy: unknown value 'canery'; did you mean 'canary'? must be one of 'rolling', 'canary', 'blue-green'"])
    }
}
