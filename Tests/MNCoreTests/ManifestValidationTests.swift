import Foundation
import Testing

@testable import MNCore

/// Wraps an agent and policies into a whole manifest document.
func document(agents: String = #"[{"id":"web","image":"localhost/web:1"}]"#, extra: String = "") -> String {
    #"{"deployment":{"key":"web"},"agents":\#(agents)\#(extra.isEmpty ? "" : "," + extra)}"#
}

func problems(_ text: String, format: ManifestFormat = .json) -> [String] {
    do {
        _ = try Manifest.parse(Data(text.utf8), format: format)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

@Suite("Manifest validation")
struct ManifestValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "max_parallel 0",
            text: document(extra: #""policies":{"update":{"max_parallel":0}}"#),
            expected: ["policies.update.max_parallel: must be at least 1, got 0"]),
        Case(
            name: "unknown strategy names the valid ones",
            text: document(extra: #""policies":{"update":{"strategy":"big-bang"}}"#),
            expected: ["policies.update.strategy: unknown value 'big-bang'; must be one of 'rolling', 'canary', 'blue-green'"]),
        Case(
            name: "a misspelt field is an error with a hint",
            text: document(extra: #""policies":{"update":{"max_paralel":2}}"#),
            expected: ["policies.update.max_paralel: unknown field; did you mean 'max_parallel'?"]),
        Case(
            name: "a wrong type names what it got",
            text: document(extra: #""policies":{"update":{"auto_revert":"yes"}}"#),
            expected: [#"policies.update.auto_revert: must be true or false, got the string "yes""#]),
        Case(
            name: "canary strategy needs canaries",
            text: document(extra: #""policies":{"update":{"strategy":"canary"}}"#),
            expected: ["policies.update.canary: must be at least 1 when strategy is 'canary', got 0"]),
        Case(
            name: "canary count without canary strategy",
            text: document(extra: #""policies":{"update":{"canary":2}}"#),
            expected: [
                "policies.update.canary: is only used with strategy 'canary' (strategy is 'rolling'); set strategy to 'canary' or remove canary"
            ]),
        Case(
            name: "deadlines out of order",
            text: document(extra: #""policies":{"update":{"min_healthy_ms":5000,"healthy_deadline_ms":4000,"progress_deadline_ms":3000}}"#),
            expected: [
                "policies.update.min_healthy_ms: must be less than healthy_deadline_ms (4000), got 5000",
                "policies.update.progress_deadline_ms: must be at least healthy_deadline_ms (4000), got 3000",
            ]),
        Case(
            name: "missing key and agents",
            text: #"{"deployment":{}}"#,
            expected: ["agents: is required", "deployment.key: is required"]),
        Case(
            name: "no agents",
            text: document(agents: "[]"),
            expected: ["agents: must list at least one agent"]),
        Case(
            name: "agent with neither image nor exec",
            text: document(agents: #"[{"id":"web"}]"#),
            expected: ["agents[0]: needs image (a container image) or exec (an absolute path to an executable)"]),
        Case(
            name: "agent with both image and exec",
            text: document(agents: #"[{"id":"web","image":"i","exec":"/bin/x"}]"#),
            expected: ["agents[0]: sets both image and exec; an agent runs either a container image or an executable"]),
        Case(
            name: "relative exec path",
            text: document(agents: #"[{"id":"web","exec":"bin/x"}]"#),
            expected: ["agents[0].exec: must be an absolute path to an executable, got 'bin/x'"]),
        Case(
            name: "bad names",
            text: #"{"deployment":{"key":"Web App"},"agents":[{"id":"-x","image":"i"}]}"#,
            expected: [
                "agents[0].id: '-x' is not a valid name; use 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit",
                "deployment.key: 'Web App' is not a valid name; use 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit",
            ]),
        Case(
            name: "duplicate agent id",
            text: document(agents: #"[{"id":"web","image":"i"},{"id":"web","image":"j"}]"#),
            expected: ["agents[1].id: 'web' is already used by agents[0]"]),
        Case(
            name: "edge to an unknown agent and to itself",
            text: document(extra: #""edges":[{"from":"web","to":"db"},{"from":"web","to":"web"}]"#),
            expected: [
                "edges[0].to: no agent 'db' in this manifest (agents: web)",
                "edges[1]: connects agent 'web' to itself; an edge joins two different agents",
            ]),
        Case(
            name: "health check on an undeclared port, timeout over interval",
            text: document(
                agents:
                    #"[{"id":"web","image":"i","ports":[{"name":"http","container_port":8080}],"health_checks":[{"kind":"http","port":9090,"interval_ms":1000,"timeout_ms":2000}]}]"#
            ),
            expected: [
                "agents[0].health_checks[0].timeout_ms: must not exceed interval_ms (1000), got 2000",
                "agents[0].health_checks[0].port: 9090 is not a container port of agent 'web' (declared: 8080); add it under ports",
            ]),
        Case(
            name: "check kinds need their fields",
            text: document(
                agents:
                    #"[{"id":"web","image":"i","health_checks":[{"kind":"tcp","name":"t"},{"kind":"exec","name":"e","path":"/x"},{"kind":"grpc"}]}]"#
            ),
            expected: [
                "agents[0].health_checks[0].port: is required for a 'tcp' check",
                "agents[0].health_checks[1].command: must list the program and its arguments for an 'exec' check",
                "agents[0].health_checks[1].path: is not used by a 'exec' check; remove it",
                "agents[0].health_checks[2].kind: unknown value 'grpc'; must be one of 'http', 'tcp', 'exec'",
            ]),
        Case(
            name: "ports out of range and host port published twice",
            text: document(
                agents:
                    #"[{"id":"a","image":"i","ports":[{"name":"p","container_port":80,"host_port":8080},{"name":"q","container_port":70000}]},{"id":"b","image":"i","ports":[{"name":"p","container_port":80,"host_port":8080}]}]"#
            ),
            expected: [
                "agents[0].ports[1].container_port: must be at most 65535, got 70000",
                "agents[1].ports[0].host_port: host port 8080/tcp is already published by agents[0].ports[0]",
            ]),
        Case(
            name: "bad environment name and unknown signal",
            text: document(agents: #"[{"id":"web","image":"i","env":{"1BAD":"x","OK":"y"},"lifecycle":{"stop_signal":"SIGFOO"}}]"#),
            expected: [
                "agents[0].env.1BAD: '1BAD' is not a valid environment variable name; use letters, digits and '_', not starting with a digit",
                "agents[0].lifecycle.stop_signal: unknown signal 'SIGFOO'; must be one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGKILL",
            ]),
        Case(
            name: "a non-string env value is reported without echoing it",
            text: document(agents: #"[{"id":"web","image":"i","env":{"DB_PASSWORD":918273645}}]"#),
            expected: ["agents[0].env.DB_PASSWORD: must be a string, got a number; put numbers and booleans in quotes"]),
        Case(
            name: "count on a system job given as policies.scheduler.job_type (seed 002)",
            text: #"{"deployment":{"key":"k"},"policies":{"scheduler":{"job_type":"system"}},"agents":[{"id":"a","image":"i","count":2}]}"#,
            expected: ["agents[0].count: is not used by 'system' jobs, which run one instance on every eligible node; remove it"]),
        Case(
            name: "type and policies.scheduler.job_type disagree",
            text: #"{"deployment":{"key":"k"},"type":"service","policies":{"scheduler":{"job_type":"system"}},"agents":[{"id":"a","image":"i"}]}"#,
            expected: ["policies.scheduler.job_type: is 'system' but type is 'service'; give the job type once"]),
        Case(
            name: "an unknown scheduler job type",
            text: #"{"deployment":{"key":"k"},"policies":{"scheduler":{"job_type":"daemon"}},"agents":[{"id":"a","image":"i"}]}"#,
            expected: ["policies.scheduler.job_type: unknown value 'daemon'; must be one of 'service', 'system', 'batch', 'sysbatch'"]),
        Case(
            name: "count on a system job",
            text: #"{"deployment":{"key":"k"},"type":"system","agents":[{"id":"a","image":"i","count":2}]}"#,
            expected: ["agents[0].count: is not used by 'system' jobs, which run one instance on every eligible node; remove it"]),
        Case(
            name: "restart max delay below delay",
            text: document(extra: #""policies":{"restart":{"delay_ms":5000,"max_delay_ms":100,"mode":"sometimes"}}"#),
            expected: [
                "policies.restart.mode: unknown value 'sometimes'; must be one of 'fail', 'delay'",
                "policies.restart.max_delay_ms: must be at least delay_ms (5000), got 100",
            ]),
        Case(
            name: "a whole number that is not",
            text: document(agents: #"[{"id":"web","image":"i","count":1.5}]"#),
            expected: ["agents[0].count: must be a whole number, got 1.5"]),
        Case(
            name: "services: an unknown port, a name twice, an empty name",
            text: document(
                agents: #"[{"id":"web","image":"i","ports":[{"name":"http","container_port":80}],"services":[{"name":"web","port":"grpc"},{"name":"web","port":"http"},{"name":"","port":"http"}]}]"#),
            expected: [
                "agents[0].services[0].port: 'grpc' is not a port of agent 'web'; its ports are http",
                "agents[0].services[1].name: 'web' is already offered by services[0]",
                "agents[0].services[2].name: '' is not a valid name; use 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit",
            ]),
        Case(
            name: "a whole number written with a fraction",
            text: document(extra: #""policies":{"update":{"max_parallel":1.0}}"#),
            expected: ["policies.update.max_parallel: must be a whole number, got 1.0"]),
        Case(
            name: "a strategy in the wrong case gets a hint",
            text: document(extra: #""policies":{"update":{"strategy":"Rolling"}}"#),
            expected: ["policies.update.strategy: unknown value 'Rolling'; did you mean 'rolling'? must be one of 'rolling', 'canary', 'blue-green'"]),
        Case(
            name: "a misspelt strategy gets a hint",
            text: document(extra: #""policies":{"update":{"strategy":"bluegreen"}}"#),
            expected: ["policies.update.strategy: unknown value 'bluegreen'; did you mean 'blue-green'? must be one of 'rolling', 'canary', 'blue-green'"]),
        Case(
            name: "a truncated document names where it ends",
            text: "{\n  \"deployment\": {\"key\": \"k\"},\n  \"agents\": [",
            expected: ["(document): not valid JSON: the document ends early: expected a value (an object, array, string, number, true, false or null) at line 3, column 14"]),
        Case(
            name: "privileges other tools grant are refused with a reason, not as unknown fields",
            text: document(agents: #"[{"id":"web","image":"i","privileged":true,"volumes":["/:/host"],"network":"host","devices":["/dev/mem"]}]"#),
            expected: [
                "agents[0].privileged: mn does not give a manifest privileged containers; run such a workload outside mn",
                "agents[0].volumes: mn does not give a manifest host mounts; run such a workload outside mn",
                "agents[0].network: mn does not give a manifest a network mode; the node's agent config sets the network ('network': bridge, host or none)",
                "agents[0].devices: mn does not give a manifest raw host devices; ask for devices by kind in resources.devices; a node offers those its agent config lists",
            ]),
        Case(
            name: "a missing comma names its line and column",
            text: "{\n  \"deployment\": {\"key\": \"k\"}\n  \"agents\": []\n}",
            expected: ["(document): not valid JSON: expected ',' or '}' after a field at line 3, column 3"]),
    ]

    @Test("each broken manifest reports exactly its problems", arguments: cases)
    func reportsProblems(_ testCase: Case) {
        #expect(problems(testCase.text).sorted() == testCase.expected.sorted())
    }

    @Test("every problem in one document is reported in one pass")
    func collectsEveryProblem() {
        let text = """
            {"deployment":{"key":"web"},"agents":[{"id":"web","image":"i","count":0,"bogus":1}],
             "policies":{"update":{"max_parallel":0,"strategy":"big-bang","health_check":"vibes"},"restart":{"attempts":-1}}}
            """
        let found = problems(text)
        #expect(found.count == 6, "\(found)")
        for path in [
            "agents[0].count", "agents[0].bogus", "policies.update.max_parallel", "policies.update.strategy",
            "policies.update.health_check", "policies.restart.attempts",
        ] {
            #expect(found.contains { $0.hasPrefix(path + ":") }, "missing \(path) in \(found)")
        }
    }

    @Test("YAML reports the same problems as JSON")
    func yamlParity() {
        let yaml = """
            deployment:
              key: web
            agents:
              - id: web
                image: localhost/web:1
            policies:
              update:
                max_parallel: 0
                strategy: big-bang
            """
        #expect(
            problems(yaml, format: .yaml).sorted() == [
                "policies.update.max_parallel: must be at least 1, got 0",
                "policies.update.strategy: unknown value 'big-bang'; must be one of 'rolling', 'canary', 'blue-green'",
            ])
    }

    @Test("YAML and JSON of the same manifest parse to equal values")
    func yamlEqualsJSON() throws {
        let yaml = """
            deployment: {key: web}
            agents:
              - id: web
                image: localhost/web:1
                env: {GREETING: "yes", PORT: "8080"}
                ports: [{name: http, container_port: 8080, host_port: 18080}]
                health_checks: [{kind: http, port: 8080, path: /}]
            policies: {update: {max_parallel: 2, auto_revert: true}}
            """
        let json = """
            {"deployment":{"key":"web"},"agents":[{"id":"web","image":"localhost/web:1","env":{"GREETING":"yes","PORT":"8080"},
             "ports":[{"name":"http","container_port":8080,"host_port":18080}],"health_checks":[{"kind":"http","port":8080,"path":"/"}]}],
             "policies":{"update":{"max_parallel":2,"auto_revert":true}}}
            """
        let fromYAML = try Manifest.parse(Data(yaml.utf8), format: .yaml)
        let fromJSON = try Manifest.parse(Data(json.utf8), format: .json)
        #expect(fromYAML == fromJSON)
        #expect(fromYAML.agents[0].env["GREETING"] == "yes")
    }

    @Test("format is sniffed from content and from file names")
    func formatDetection() {
        #expect(ManifestFormat(sniffing: Data("  \n{\"a\":1}".utf8)) == .json)
        #expect(ManifestFormat(sniffing: Data("a: 1".utf8)) == .yaml)
        #expect(ManifestFormat(fileName: "x.YML") == .yaml)
        #expect(ManifestFormat(fileName: "x.json") == .json)
        #expect(ManifestFormat(fileName: "x.txt") == nil)
    }
}
