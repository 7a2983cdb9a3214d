import Foundation
import Testing

@testable import MNCore

@Suite("Canonical encoding and spec hashes")
struct CanonicalEncodingTests {
    func agent(_ fields: String) throws -> AgentSpec {
        try #require(try Manifest.parse(Data(document(agents: "[{\(fields)}]").utf8)).agents.first)
    }

    @Test("key order and whitespace do not change the hash")
    func orderIndependent() throws {
        let a = try agent(#""id":"web","image":"i","env":{"A":"1","B":"2"}"#)
        let b = try agent(#" "env" : { "B":"2", "A":"1" } , "image":"i", "id":"web" "#)
        #expect(a.specHash == b.specHash)
        #expect(a.canonicalInstanceBytes == b.canonicalInstanceBytes)
    }

    @Test("writing a default out does not change the hash")
    func defaultsAreMaterialized() throws {
        let implicit = try agent(#""id":"web","image":"i""#)
        let explicit = try agent(#""id":"web","image":"i","lifecycle":{"stop_signal":"SIGTERM","grace_period_ms":30000},"args":[]"#)
        #expect(implicit.specHash == explicit.specHash)
    }

    @Test("a changed env value, arg or stop signal changes the hash; count does not")
    func sensitivity() throws {
        let base = try agent(#""id":"web","image":"i","env":{"A":"1"}"#)
        #expect(try agent(#""id":"web","image":"i","env":{"A":"2"}"#).specHash != base.specHash)
        #expect(try agent(#""id":"web","image":"i","env":{"A":"1"},"args":["x"]"#).specHash != base.specHash)
        #expect(try agent(#""id":"web","image":"i","env":{"A":"1"},"lifecycle":{"stop_signal":"SIGINT"}"#).specHash != base.specHash)
        #expect(try agent(#""id":"web","image":"i","env":{"A":"1"},"count":3"#).specHash == base.specHash)
    }

    @Test("canonical bytes sort keys and escape strings minimally")
    func canonicalForm() {
        let value = JSONValue.object([
            "b": .array([.integer(1), .bool(true), .null]),
            "a": .string("line\n\"quoted\" \u{01} é/"),
        ])
        let text = String(decoding: CanonicalJSON.bytes(value), as: UTF8.self)
        #expect(text == #"{"a":"line\n\"quoted\" \u0001 é/","b":[1,true,null]}"#)
    }

    @Test("the hash is SHA-256 in hex")
    func sha256() {
        #expect(SpecHash(of: Array("abc".utf8)).rawValue == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("an encoded manifest parses back to the same manifest")
    func roundTrip() throws {
        let text = document(
            agents:
                #"[{"id":"web","image":"i","ports":[{"name":"http","container_port":80}],"health_checks":[{"kind":"http","port":80},{"kind":"exec","name":"x","command":["true"]}],"resources":{"memory_mb":64,"devices":[{"kind":"gpu","driver":"cuda","count":1}]},"requires_services":[{"name":"vllm","tags":["embedding"]}]},{"id":"db","exec":"/usr/bin/db"}]"#,
            extra: #""edges":[{"from":"web","to":"db"}],"type":"service""#)
        let manifest = try Manifest.parse(Data(text.utf8))
        let again = try Manifest.parse(Data(manifest.canonicalBytes))
        #expect(again == manifest)
        #expect(again.contentHash == manifest.contentHash)
        let decoded = try JSONDecoder().decode(Manifest.self, from: JSONEncoder().encode(manifest))
        #expect(decoded == manifest)
    }
}
