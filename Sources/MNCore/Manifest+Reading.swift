import Foundation
import Yams

/// The text formats a manifest may be written in.
public enum ManifestFormat: String, CaseIterable, Sendable {
    case json
    case yaml

    /// The format a file name implies (`.json`, `.yaml`, `.yml`), if any.
    public init?(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".json") {
            self = .json
        } else if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") {
            self = .yaml
        } else {
            return nil
        }
    }

    /// JSON when the first non-blank byte opens an object, YAML otherwise.
    public init(sniffing data: Data) {
        let first = data.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }
        self = first == UInt8(ascii: "{") ? .json : .yaml
    }
}

extension Manifest {
    /// Parses and validates a manifest, collecting every problem in it.
    ///
    /// - Parameters:
    ///   - data: The document's bytes (UTF-8).
    ///   - format: JSON or YAML; guessed from the content when `nil`.
    /// - Returns: The manifest with every absent field at its default.
    /// - Throws: ``ManifestError`` listing each problem with its field path.
    public static func parse(_ data: Data, format: ManifestFormat? = nil) throws(ManifestError) -> Manifest {
        let tree = try JSONValue.parse(data, format: format ?? ManifestFormat(sniffing: data))
        return try Manifest(validating: tree)
    }

    /// Reads and validates a manifest from an already parsed document.
    public init(validating tree: JSONValue) throws(ManifestError) {
        let problems = ProblemCollector()
        let manifest = Manifest.read(DocumentReader(problems: problems), tree, .root)
        guard let manifest, problems.problems.isEmpty else {
            throw ManifestError(problems: problems.problems)
        }
        self = manifest
    }

    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Manifest? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let key = fields.required("deployment") { r, v, p -> String? in
            guard let deployment = r.object(v, at: p) else { return nil }
            defer { deployment.finish() }
            return deployment.required("key", Names.read)
        }
        let declared = fields.optional("type") { $0.choice($1, at: $2, as: JobType.self) }
        let scheduled = Self.schedulerJobType(value)
        if let declared, let scheduled, declared != scheduled {
            reader.problems.add(
                path.appending("policies").appending("scheduler").appending("job_type"),
                "is '\(scheduled.rawValue)' but type is '\(declared.rawValue)'; give the job type once")
        }
        let type = declared ?? scheduled ?? .service
        let agents =
            fields.required("agents") { r, v, p in r.array(v, at: p, element: { AgentSpec.read(r, $0, $1) }) } ?? []
        let edges = fields.optional("edges") { r, v, p in r.indexedArray(v, at: p, element: { TopologyEdge.read(r, $0, $1) }) } ?? []
        let constraints = fields.optional("constraints", PlacementConstraint.readList) ?? []
        let policies = fields.optional("policies", Policies.read) ?? .defaults
        let payloads = fields.optional("payloads") { r, v, p in r.array(v, at: p, element: { Payload.read(r, $0, $1) }) } ?? []
        let payloadBytes = payloads.reduce(0) { $0 + $1.size }
        if payloadBytes > Payload.maxTotalSize {
            reader.problems.add(
                path.appending("payloads"), "hold \(payloadBytes) bytes together; at most \(Payload.maxTotalSize) are allowed (keep large data out of the bundle)")
        }
        if Set(payloads.map(\.path)).count != payloads.count { reader.problems.add(path.appending("payloads"), "name a path twice") }

        guard let key else { return nil }
        let manifest = Manifest(
            key: DeploymentKey(key), type: type, agents: agents, edges: edges.map(\.value), constraints: constraints, policies: policies,
            payloads: payloads.sorted { $0.path < $1.path })
        manifest.checkAgentsAndEdges(tree: value, edges: edges, problems: reader.problems)
        return manifest
    }

    /// `policies.scheduler.job_type` (seed 002's way to say `type`), if present and valid.
    private static func schedulerJobType(_ tree: JSONValue) -> JobType? {
        guard case .object(let top) = tree, case .object(let policies)? = top["policies"], case .object(let scheduler)? = policies["scheduler"],
            case .string(let name)? = scheduler["job_type"]
        else { return nil }
        return JobType(rawValue: name)
    }

    /// Cross-agent rules: at least one agent, unique ids, edges between known agents,
    /// no host port published twice, and `count` only for job types that use it.
    private func checkAgentsAndEdges(tree: JSONValue, edges: [(index: Int, value: TopologyEdge)], problems: ProblemCollector) {
        let agentsPath = FieldPath.root.appending("agents")
        guard case .object(let top) = tree, case .array(let rawAgents)? = top["agents"] else { return }
        if rawAgents.isEmpty {
            problems.add(agentsPath, "must list at least one agent")
        }
        // Agents that failed to read are missing from `agents`; map back to document indices by id.
        var indexByID: [AgentID: Int] = [:]
        var hostPorts: [String: String] = [:]
        for (index, raw) in rawAgents.enumerated() {
            guard case .object(let fields) = raw, case .string(let id)? = fields["id"] else { continue }
            let agentPath = agentsPath.appending(index: index)
            if let first = indexByID[AgentID(id)] {
                problems.add(agentPath.appending("id"), "'\(id)' is already used by agents[\(first)]")
                continue
            }
            indexByID[AgentID(id)] = index
            guard let agent = agent(AgentID(id)) else { continue }
            if type == .system || type == .sysbatch, fields["count"] != nil {
                problems.add(
                    agentPath.appending("count"),
                    "is not used by '\(type.rawValue)' jobs, which run one instance on every eligible node; remove it")
            }
            // Host ports are read from the document, so indices match it even if a port was unreadable.
            guard case .array(let rawPorts)? = fields["ports"] else { continue }
            for (portIndex, rawPort) in rawPorts.enumerated() {
                guard case .object(let port) = rawPort, case .integer(let hostPort)? = port["host_port"], hostPort != 0
                else { continue }
                let transport = port["protocol"].flatMap { if case .string(let name) = $0 { name } else { nil } } ?? "tcp"
                let slot = "\(hostPort)/\(transport)"
                let here = "agents[\(index)].ports[\(portIndex)]"
                if let first = hostPorts[slot] {
                    problems.add(
                        agentPath.appending("ports").appending(index: portIndex).appending("host_port"),
                        "host port \(slot) is already published by \(first)")
                } else {
                    hostPorts[slot] = here
                }
            }
            if agent.count > 1, agent.ports.contains(where: { $0.hostPort != nil }) {
                problems.add(
                    agentPath.appending("count"),
                    "\(agent.count) instances cannot all publish the same host port on one node; use count 1 or remove host_port")
            }
        }
        let known = agents.map(\.id.rawValue).sorted().joined(separator: ", ")
        var seen: Set<TopologyEdge> = []
        for (index, edge) in edges {
            let edgePath = FieldPath.root.appending("edges").appending(index: index)
            for (end, id) in [("from", edge.from), ("to", edge.to)] where indexByID[id] == nil {
                problems.add(edgePath.appending(end), "no agent '\(id)' in this manifest (agents: \(known))")
            }
            if edge.from == edge.to {
                problems.add(edgePath, "connects agent '\(edge.from)' to itself; an edge joins two different agents")
            }
            if !seen.insert(edge).inserted {
                problems.add(edgePath, "repeats the edge \(edge.from) -> \(edge.to)")
            }
        }
    }
}

extension JSONValue {
    /// Parses JSON or YAML text into a tree; a syntax error is one problem at the document root.
    public static func parse(_ data: Data, format: ManifestFormat) throws(ManifestError) -> JSONValue {
        switch format {
        case .json:
            return try JSONParser.parse(Array(data))
        case .yaml:
            guard let text = String(data: data, encoding: .utf8) else {
                throw syntaxError("not valid YAML: the file is not UTF-8 text")
            }
            do {
                guard let node = try Yams.compose(yaml: text) else { throw syntaxError("the document is empty") }
                return try JSONValue(yaml: node, at: .root)
            } catch let error as ManifestError {
                throw error
            } catch let error as YamlError {
                throw syntaxError("not valid YAML: \(yamlErrorDetail(error))")
            } catch {
                throw syntaxError("not valid YAML")
            }
        }
    }

    private static func syntaxError(_ message: String) -> ManifestError {
        ManifestError(problems: [ValidationProblem(path: .root, message: message)])
    }

    /// Yams' own descriptions quote the document (and so any secret in it); say only what
    /// is wrong and where.
    private static func yamlErrorDetail(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "the key '\(duplicates.joined(separator: "', '"))' appears twice, at line \(context.mark.line)"
        case .reader(let problem, _, _, _):
            return problem
        default:
            return "the document could not be read"
        }
    }

    /// Converts a composed YAML node, resolving scalars by their YAML core-schema tag.
    init(yaml node: Node, at path: FieldPath) throws(ManifestError) {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: self = .null
            case .bool: self = node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: self = node.int.map { .integer(Int64($0)) } ?? .string(scalar.string)
            case .float: self = node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: self = .string(scalar.string)
            }
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                items.append(try JSONValue(yaml: item, at: path.appending(index: index)))
            }
            self = .array(items)
        case .mapping(let mapping):
            var fields: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ManifestError(problems: [ValidationProblem(path: path, message: "map keys must be plain strings")])
                }
                fields[keyScalar.string] = try JSONValue(yaml: value, at: path.appending(keyScalar.string))
            }
            self = .object(fields)
        case .alias:
            throw ManifestError(problems: [ValidationProblem(path: path, message: "YAML aliases are not supported; write the value out")])
        }
    }
}

extension Payload {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Payload? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let file = fields.required("path") { r, v, p -> String? in
            guard let text = r.string(v, at: p) else { return nil }
            if let problem = Payload.problem(withPath: text) {
                r.problems.add(p, problem)
                return nil
            }
            return text
        }
        let sha256 = fields.required("sha256") { r, v, p -> String? in
            guard let text = r.string(v, at: p) else { return nil }
            guard text.count == 64, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                r.problems.add(p, "must be 64 lowercase hex digits (a SHA-256)")
                return nil
            }
            return text
        }
        let size = fields.required("size") { $0.int($1, at: $2, in: 0...Payload.maxFileSize) }
        guard let file, let sha256, let size else { return nil }
        return Payload(path: file, sha256: sha256, size: size)
    }
}
