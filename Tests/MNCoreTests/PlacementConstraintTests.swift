import Foundation
import Testing

@testable import MNCore

@Suite("Placement constraints in manifests")
struct PlacementConstraintTests {
    static let cases: [(text: String, expected: [String])] = [
        (
            document(extra: #""constraints":[{"attribute":"meta.rack","operator":"=","value":"r1"}]"#), []
        ),
        (
            document(extra: #""constraints":[{"attribute":"rack","operator":"=","value":"r1"}]"#),
            [
                "constraints[0].attribute: unknown node attribute 'rack'; use node.id, os, arch, hostname or meta.KEY (a value set in the agent config's meta)"
            ]
        ),
        (
            document(extra: #""constraints":[{"attribute":"os","operator":"~=","value":"linux"}]"#),
            ["constraints[0].operator: unknown value '~='; must be one of '=', '!=', 'in', 'regexp', 'version'"]
        ),
        (
            document(extra: #""constraints":[{"attribute":"os","operator":"in","value":"linux"}]"#),
            [#"constraints[0].value: must be an array of strings for operator 'in', such as ["r1", "r2"]"#]
        ),
        (
            document(extra: #""constraints":[{"attribute":"os","operator":"in","value":[]}]"#),
            ["constraints[0].value: must list at least one value"]
        ),
        (
            document(extra: #""constraints":[{"attribute":"meta.kernel","operator":"version","value":"at least 6"}]"#),
            ["constraints[0].value: 'at least 6' is not a version range; write comparisons of dotted versions, such as '>= 1.2, < 2'"]
        ),
        (
            document(extra: #""constraints":[{"attribute":"hostname","operator":"="}]"#),
            ["constraints[0].value: is required"]
        ),
        (
            document(agents: #"[{"id":"web","image":"i","constraints":[{"attribute":"meta.","operator":"=","value":"x"}]}]"#),
            [
                "agents[0].constraints[0].attribute: unknown node attribute 'meta.'; use node.id, os, arch, hostname or meta.KEY (a value set in the agent config's meta)"
            ]
        ),
    ]

    @Test("constraints are read and checked, naming the field", arguments: cases)
    func validation(text: String, expected: [String]) {
        #expect(problems(text) == expected)
    }

    @Test("negative resources and a device count of 0 are refused at their fields, with every other problem")
    func badResources() {
        let found = problems(
            document(
                agents: #"[{"id":"embed","image":"i","resources":{"cpu_millis":-5,"memory_mb":0,"devices":[{"kind":"gpu","count":0}]},"constraints":[{"attribute":"gpu","operator":"=","value":"a"}]}]"#
            ))
        #expect(
            found == [
                "agents[0].resources.cpu_millis: must be at least 1, got -5",
                "agents[0].resources.memory_mb: must be at least 1, got 0",
                "agents[0].resources.devices[0].count: must be at least 1, got 0",
                "agents[0].constraints[0].attribute: unknown node attribute 'gpu'; use node.id, os, arch, hostname or meta.KEY (a value set in the agent config's meta)",
            ])
    }

    @Test("an invalid regular expression is an error at its field")
    func badPattern() {
        let found = problems(document(extra: #""constraints":[{"attribute":"hostname","operator":"regexp","value":"gpu-("}]"#))
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("constraints[0].value: 'gpu-(' is not a valid regular expression") == true)
    }

    @Test("constraints survive encode and parse, and do not change an agent's spec hash")
    func roundTripAndHash() throws {
        let constrained = document(
            agents: #"[{"id":"web","image":"i","constraints":[{"attribute":"os","operator":"in","value":["linux"]}]}]"#,
            extra: #""constraints":[{"attribute":"meta.kernel","operator":"version","value":">= 6.1, < 7"},{"attribute":"hostname","operator":"regexp","value":"^gpu"}]"#
        )
        let manifest = try Manifest.parse(Data(constrained.utf8))
        let again = try Manifest.parse(Data(manifest.canonicalBytes))
        #expect(again == manifest)
        #expect(manifest.constraints(of: manifest.agents[0]).map(\.summary) == ["meta.kernel version >= 6.1, < 7", "hostname regexp ^gpu", "os in [linux]"])
        let plain = try Manifest.parse(Data(document(agents: #"[{"id":"web","image":"i"}]"#).utf8))
        #expect(manifest.agents[0].specHash == plain.agents[0].specHash)
        #expect(manifest.instanceHash(of: manifest.agents[0]) == plain.instanceHash(of: plain.agents[0]))
        #expect(manifest.contentHash != plain.contentHash, "a constraint change is a new version")
    }

    @Test("version ranges compare dotted numbers, ignoring a v and what follows the numbers", arguments: [
        (">= 6.1, < 7", "6.1.0-18-amd64", true),
        (">= 6.1, < 7", "7.0", false),
        ("> 2", "2.0.0", false),
        ("2", "v2.0", true),
        ("!= 1.4", "1.4.0", false),
        ("<= 1.10", "1.9", true),
        (">= 1", "linux", false),
    ])
    func versionRanges(range: String, value: String, contained: Bool) throws {
        #expect(try #require(VersionRange(range)).contains(value) == contained)
    }

    @Test("malformed version ranges are refused", arguments: ["", ">=", ">= 1,", "1.x", "about 2", ">= 1.2.3a"])
    func malformedRanges(text: String) {
        #expect(VersionRange(text) == nil)
    }
}
