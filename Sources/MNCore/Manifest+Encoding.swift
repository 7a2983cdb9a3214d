// Encoding writes the manifest's own field names and leaves out every field equal to its
// default. That is the canonical form: writing a default out or leaving it away gives the
// same bytes, and a later mn that adds a defaulted field does not change any existing hash.

extension KeyedEncodingContainer {
    /// Encodes `value` unless it equals `defaultValue`.
    mutating func encode<T: Encodable & Equatable>(_ value: T, forKey key: Key, unlessEqualTo defaultValue: T) throws {
        if value != defaultValue { try encode(value, forKey: key) }
    }
}

extension Manifest: Encodable {
    enum CodingKeys: String, CodingKey { case deployment, type, agents, edges, constraints, policies, payloads }
    private enum DeploymentKeys: String, CodingKey { case key }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var deployment = container.nestedContainer(keyedBy: DeploymentKeys.self, forKey: .deployment)
        try deployment.encode(key, forKey: .key)
        try container.encode(type, forKey: .type, unlessEqualTo: .service)
        try container.encode(agents, forKey: .agents)
        try container.encode(edges, forKey: .edges, unlessEqualTo: [])
        try container.encode(constraints, forKey: .constraints, unlessEqualTo: [])
        try container.encode(policies, forKey: .policies, unlessEqualTo: .defaults)
        try container.encode(payloads, forKey: .payloads, unlessEqualTo: [])
    }
}

extension Policies {
    enum CodingKeys: String, CodingKey { case update, restart, reschedule }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(update, forKey: .update, unlessEqualTo: .defaults)
        try container.encode(restart, forKey: .restart, unlessEqualTo: .defaults)
        try container.encode(reschedule, forKey: .reschedule, unlessEqualTo: .defaults)
    }
}

extension UpdatePolicy {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let d = UpdatePolicy.defaults
        try container.encode(strategy, forKey: .strategy, unlessEqualTo: d.strategy)
        try container.encode(maxParallel, forKey: .maxParallel, unlessEqualTo: d.maxParallel)
        try container.encode(canary, forKey: .canary, unlessEqualTo: d.canary)
        try container.encode(minHealthyMs, forKey: .minHealthyMs, unlessEqualTo: d.minHealthyMs)
        try container.encode(healthyDeadlineMs, forKey: .healthyDeadlineMs, unlessEqualTo: d.healthyDeadlineMs)
        try container.encode(progressDeadlineMs, forKey: .progressDeadlineMs, unlessEqualTo: d.progressDeadlineMs)
        try container.encode(healthCheck, forKey: .healthCheck, unlessEqualTo: d.healthCheck)
        try container.encode(autoPromote, forKey: .autoPromote, unlessEqualTo: d.autoPromote)
        try container.encode(autoRevert, forKey: .autoRevert, unlessEqualTo: d.autoRevert)
    }
}

extension RestartPolicy {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let d = RestartPolicy.defaults
        try container.encode(attempts, forKey: .attempts, unlessEqualTo: d.attempts)
        try container.encode(intervalMs, forKey: .intervalMs, unlessEqualTo: d.intervalMs)
        try container.encode(delayMs, forKey: .delayMs, unlessEqualTo: d.delayMs)
        try container.encode(delayFunction, forKey: .delayFunction, unlessEqualTo: d.delayFunction)
        try container.encode(maxDelayMs, forKey: .maxDelayMs, unlessEqualTo: d.maxDelayMs)
        try container.encode(mode, forKey: .mode, unlessEqualTo: d.mode)
    }
}

extension ReschedulePolicy {
    /// Writes `attempts` and `interval_ms` only when they are used (not `unlimited`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let d = ReschedulePolicy.defaults
        try container.encode(unlimited, forKey: .unlimited, unlessEqualTo: d.unlimited)
        if !unlimited {
            try container.encode(attempts, forKey: .attempts, unlessEqualTo: d.attempts)
            try container.encode(intervalMs, forKey: .intervalMs, unlessEqualTo: d.intervalMs)
        }
        try container.encode(delayMs, forKey: .delayMs, unlessEqualTo: d.delayMs)
        try container.encode(delayFunction, forKey: .delayFunction, unlessEqualTo: d.delayFunction)
        try container.encode(maxDelayMs, forKey: .maxDelayMs, unlessEqualTo: d.maxDelayMs)
    }
}

extension AgentSpec: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, count, image, exec, args, env, ports, lifecycle, resources, constraints, services
        case healthChecks = "health_checks"
        case requiresServices = "requires_services"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(count, forKey: .count, unlessEqualTo: 1)
        switch workload {
        case .image(let image): try container.encode(image, forKey: .image)
        case .exec(let path): try container.encode(path, forKey: .exec)
        }
        try container.encode(args, forKey: .args, unlessEqualTo: [])
        try container.encode(env, forKey: .env, unlessEqualTo: [:])
        try container.encode(ports, forKey: .ports, unlessEqualTo: [])
        try container.encode(healthChecks, forKey: .healthChecks, unlessEqualTo: [])
        try container.encode(lifecycle, forKey: .lifecycle, unlessEqualTo: .defaults)
        try container.encode(resources, forKey: .resources, unlessEqualTo: .none)
        try container.encode(requiresServices, forKey: .requiresServices, unlessEqualTo: [])
        try container.encode(services, forKey: .services, unlessEqualTo: [])
        try container.encode(constraints, forKey: .constraints, unlessEqualTo: [])
    }
}

extension PortMapping {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(containerPort, forKey: .containerPort)
        try container.encodeIfPresent(hostPort, forKey: .hostPort)
        try container.encode(transport, forKey: .transport, unlessEqualTo: .tcp)
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
        try container.encode(name, forKey: .name, unlessEqualTo: kind.rawValue)
        try container.encode(kind.rawValue, forKey: .kind)
        switch probe {
        case .http(let port, let path):
            try container.encode(port, forKey: .port)
            try container.encode(path, forKey: .path, unlessEqualTo: "/")
        case .tcp(let port):
            try container.encode(port, forKey: .port)
        case .exec(let command):
            try container.encode(command, forKey: .command)
        }
        try container.encode(intervalMs, forKey: .intervalMs, unlessEqualTo: HealthCheck.defaultIntervalMs)
        try container.encode(timeoutMs, forKey: .timeoutMs, unlessEqualTo: HealthCheck.defaultTimeoutMs)
    }
}

extension Lifecycle {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stopSignal, forKey: .stopSignal, unlessEqualTo: Lifecycle.defaults.stopSignal)
        try container.encode(gracePeriodMs, forKey: .gracePeriodMs, unlessEqualTo: Lifecycle.defaults.gracePeriodMs)
        try container.encode(shutdownDelayMs, forKey: .shutdownDelayMs, unlessEqualTo: Lifecycle.defaults.shutdownDelayMs)
    }
}

extension Resources {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(cpuMillis, forKey: .cpuMillis)
        try container.encodeIfPresent(memoryMB, forKey: .memoryMB)
        try container.encode(devices, forKey: .devices, unlessEqualTo: [])
    }
}

extension DeviceRequest {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(driver, forKey: .driver)
        try container.encodeIfPresent(minMemoryMB, forKey: .minMemoryMB)
        try container.encode(count, forKey: .count, unlessEqualTo: 1)
    }
}

extension ServiceRequirement {
    enum CodingKeys: String, CodingKey { case name, tags, required }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(tags, forKey: .tags, unlessEqualTo: [])
        try container.encode(required, forKey: .required, unlessEqualTo: true)
    }
}

// Reading back goes through the validating reader, so there is one way to decode a manifest
// or any part of one, and a stored value that no longer validates is refused, not half-read.

extension DocumentReader {
    /// Decodes a value through its reader, throwing ``ManifestError`` with every problem.
    static func decode<T>(_ decoder: any Decoder, _ read: (DocumentReader, JSONValue, FieldPath) -> T?) throws -> T {
        let problems = ProblemCollector()
        let value = read(DocumentReader(problems: problems), try JSONValue(from: decoder), .root)
        guard let value, problems.problems.isEmpty else { throw ManifestError(problems: problems.problems) }
        return value
    }
}

extension Manifest: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, Manifest.read) }
}

extension AgentSpec: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, AgentSpec.read) }
}

extension HealthCheck: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, HealthCheck.read) }
}

extension UpdatePolicy: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, UpdatePolicy.read) }
}

extension RestartPolicy: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, RestartPolicy.read) }
}

extension ReschedulePolicy: Decodable {
    public init(from decoder: any Decoder) throws { self = try DocumentReader.decode(decoder, ReschedulePolicy.read) }
}
