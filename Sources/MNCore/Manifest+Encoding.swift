// Encodable conformances write the manifest's own field names, with every default
// filled in, so an encoded manifest reads back to the same value.

extension Manifest: Encodable {
    enum CodingKeys: String, CodingKey { case deployment, type, agents, edges, policies }
    private enum DeploymentKeys: String, CodingKey { case key }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var deployment = container.nestedContainer(keyedBy: DeploymentKeys.self, forKey: .deployment)
        try deployment.encode(key, forKey: .key)
        try container.encode(type, forKey: .type)
        try container.encode(agents, forKey: .agents)
        try container.encode(edges, forKey: .edges)
        try container.encode(policies, forKey: .policies)
    }
}

extension AgentSpec: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, count, image, exec, args, env, ports, lifecycle, resources
        case healthChecks = "health_checks"
        case requiresServices = "requires_services"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(count, forKey: .count)
        switch workload {
        case .image(let image): try container.encode(image, forKey: .image)
        case .exec(let path): try container.encode(path, forKey: .exec)
        }
        try container.encode(args, forKey: .args)
        try container.encode(env, forKey: .env)
        try container.encode(ports, forKey: .ports)
        try container.encode(healthChecks, forKey: .healthChecks)
        try container.encode(lifecycle, forKey: .lifecycle)
        try container.encode(resources, forKey: .resources)
        try container.encode(requiresServices, forKey: .requiresServices)
    }
}

extension HealthCheck: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, kind, port, path, command
        case intervalMs = "interval_ms"
        case timeoutMs = "timeout_ms"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind.rawValue, forKey: .kind)
        switch probe {
        case .http(let port, let path):
            try container.encode(port, forKey: .port)
            try container.encode(path, forKey: .path)
        case .tcp(let port):
            try container.encode(port, forKey: .port)
        case .exec(let command):
            try container.encode(command, forKey: .command)
        }
        try container.encode(intervalMs, forKey: .intervalMs)
        try container.encode(timeoutMs, forKey: .timeoutMs)
    }
}

// Reading back goes through the validating reader, so there is one way to decode a manifest.

extension Manifest: Decodable {
    public init(from decoder: any Decoder) throws {
        self = try Manifest(validating: JSONValue(from: decoder))
    }
}

extension AgentSpec: Decodable {
    public init(from decoder: any Decoder) throws {
        let problems = ProblemCollector()
        let spec = AgentSpec.read(DocumentReader(problems: problems), try JSONValue(from: decoder), .root)
        guard let spec, problems.problems.isEmpty else { throw ManifestError(problems: problems.problems) }
        self = spec
    }
}

extension HealthCheck: Decodable {
    public init(from decoder: any Decoder) throws {
        let problems = ProblemCollector()
        let check = HealthCheck.read(DocumentReader(problems: problems), try JSONValue(from: decoder), .root)
        guard let check, problems.problems.isEmpty else { throw ManifestError(problems: problems.problems) }
        self = check
    }
}
