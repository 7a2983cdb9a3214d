import Foundation
import MNCore
import MNReconcile
import Testing

@testable import mnctl

/// The repository's Examples/ folder.
let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Examples")

@Suite("mnctl validate and plan")
struct ValidateCommandTests {
    static let validExamples = ["web-v1.json", "web-v2.json", "web-v3.json", "agent-api.yaml"]

    @Test("every shipped example is valid and prints OK, then the update policy as it will run", arguments: validExamples)
    func examplesAreValid(_ name: String) {
        let report = ValidateCommand.report(for: [ManifestFile(path: examples.appendingPathComponent(name).path)], format: .text)
        #expect(report.valid)
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "OK")
        #expect(lines.dropFirst().first?.hasPrefix("  update policy (runs ") == true && lines.count == 11, "\(lines)")
    }

    @Test("each policy value says where it came from: the manifest, a default, or (deploy) a flag; a topology change runs blue-green")
    func policySources() throws {
        let v1 = try ManifestFile(path: examples.appendingPathComponent("web-v1.json").path).loadDocument().get()
        let report = UpdatePolicyReport(of: v1.manifest, document: v1.document, flags: ["auto_revert"])
        let sources = Dictionary(uniqueKeysWithValues: report.fields.map { ($0.name, $0.source) })
        #expect(sources["max_parallel"] == .manifest && sources["canary"] == .default && sources["auto_revert"] == .flag)
        var grown = v1.manifest
        grown.agents.append(AgentSpec(id: "sidecar", workload: .image("localhost/sidecar:1")))
        let update = UpdatePolicyReport(of: grown, document: nil, previous: v1.manifest)
        #expect(update.strategy == .blueGreen && update.strategyReason?.contains("topology") == true)
    }

    @Test("the broken example lists every problem with its path")
    func brokenExample() {
        let path = examples.appendingPathComponent("broken.json").path
        let report = ValidateCommand.report(for: [ManifestFile(path: path)], format: .text)
        #expect(!report.valid)
        let lines = report.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "8 problems in \(path):")
        for expected in [
            "  policies.update.max_parallel: must be at least 1, got 0",
            "  policies.update.strategy: unknown value 'big-bang'; must be one of 'rolling', 'canary', 'blue-green'",
            "  policies.update.max_paralel: unknown field; did you mean 'max_parallel'?",
            "  agents[0].health_checks[0].port: 9090 is not a container port of agent 'httpd' (declared: 8080); add it under ports",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
    }

    @Test("--output json gives a parseable verdict with the problems")
    func jsonOutput() throws {
        let path = examples.appendingPathComponent("broken.json").path
        let report = ValidateCommand.report(for: [ManifestFile(path: path)], format: .json)
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(report.text.utf8))
        guard case .object(let fields) = value, case .array(let problems)? = fields["problems"] else {
            Issue.record("not an object with problems: \(report.text)")
            return
        }
        #expect(fields["valid"] == .bool(false))
        #expect(problems.count == 8)
    }

    @Test("several files: each is named, and one bad file makes the whole run fail")
    func severalFiles() {
        let good = examples.appendingPathComponent("web-v1.json").path
        let report = ValidateCommand.report(for: [ManifestFile(path: good), ManifestFile(path: "/nonexistent/m.json")], format: .text)
        #expect(!report.valid)
        #expect(report.text.hasPrefix("\(good): OK\n"))
        #expect(report.text.contains("cannot read /nonexistent/m.json"))
    }

    @Test("plan starts every instance on an empty node and never prints env values")
    func planOnEmptyNode() throws {
        let manifest = try #require(try? ManifestFile(path: examples.appendingPathComponent("agent-api.yaml").path).load().get())
        let plan = PlanCommand.plan(manifest, version: 1)
        #expect(plan.actions.count == 3)
        let text = PlanCommand.render(plan, manifest: manifest, version: 1, format: .text)
        let json = PlanCommand.render(plan, manifest: manifest, version: 1, format: .json)
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("  start ") }.count == 3)
        #expect(text.contains("agent-api/api/1"))
        for output in [text, json] {
            #expect(!output.contains("LOG_LEVEL") && !output.contains("info\""), "env leaked: \(output)")
        }
    }
}

@Suite("mnctl plan --from")
struct PlanFromTests {
    func load(_ name: String) throws -> MNCore.Manifest {
        try ManifestFile(path: examples.appendingPathComponent(name).path).load().get()
    }

    @Test("v2 over a node running v1 replaces the one changed instance by its container")
    func updatePlan() throws {
        let plan = PlanCommand.plan(try load("web-v2.json"), version: 2, running: try load("web-v1.json"))
        guard plan.actions.count == 1, case .replace(let replace) = plan.actions[0] else {
            Issue.record("expected one replace, got \(plan.actions)")
            return
        }
        let oldName = StartContainerName.of(try load("web-v1.json"))
        #expect(replace.old.container.rawValue == oldName)
        #expect(replace.old.gracePeriodMs == 5_000)
    }

    @Test("the same manifest over itself is a no-op")
    func noChange() throws {
        let plan = PlanCommand.plan(try load("web-v1.json"), version: 2, running: try load("web-v1.json"))
        #expect(plan.actions.isEmpty)
        #expect(plan.instances.map(\.phase) == [.running])
    }
}

/// The container name mn gives the first instance of a manifest's first agent.
enum StartContainerName {
    static func of(_ manifest: MNCore.Manifest) -> String {
        MNReconcile.StartContainer(instance: manifest.desiredInstances(version: 1)[0], node: PlanCommand.planNode).name
    }
}
