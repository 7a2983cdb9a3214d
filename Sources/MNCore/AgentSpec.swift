/// One agent of a manifest: what runs, how many copies, and how it is checked and stopped.
public struct AgentSpec: Hashable, Sendable {
    /// What an instance runs.
    public enum Workload: Hashable, Sendable {
        /// A container from this image reference, run under podman.
        case image(String)
        /// A process from this absolute executable path, run under systemd.
        case exec(String)
    }

    public var id: AgentID
    /// Copies to run (one instance each, indexed from 0).
    public var count: Int
    public var workload: Workload
    /// Arguments: the container's command for an image, argv after the executable for exec.
    public var args: [String]
    /// Environment variables. Values may be secrets: they are never printed or logged.
    public var env: [String: String]
    public var ports: [PortMapping]
    public var healthChecks: [HealthCheck]
    public var lifecycle: Lifecycle
    public var resources: Resources
    public var requiresServices: [ServiceRequirement]
    /// The services its instances offer (`services[]`), registered for discovery while they run.
    public var services: [ServiceSpec]

    /// How long an instance is out of discovery before it is stopped: the lifecycle's
    /// `shutdown_delay_ms` for an agent that offers services, 0 for the others.
    public var shutdownDelayMs: Int { services.isEmpty ? 0 : lifecycle.shutdownDelayMs }
    /// Rules its nodes must meet, beside the manifest's (`agents[].constraints[]`). Where an
    /// instance runs, not what it is: not part of its spec hash.
    public var constraints: [PlacementConstraint]

    /// Creates an agent spec; optional parts default to empty.
    public init(
        id: AgentID, count: Int = 1, workload: Workload, args: [String] = [], env: [String: String] = [:],
        ports: [PortMapping] = [], healthChecks: [HealthCheck] = [], lifecycle: Lifecycle = .defaults,
        resources: Resources = .none, requiresServices: [ServiceRequirement] = [], services: [ServiceSpec] = [],
        constraints: [PlacementConstraint] = []
    ) {
        self.id = id
        self.count = count
        self.workload = workload
        self.args = args
        self.env = env
        self.ports = ports
        self.healthChecks = healthChecks
        self.lifecycle = lifecycle
        self.resources = resources
        self.requiresServices = requiresServices
        self.services = services
        self.constraints = constraints
    }
}

extension AgentSpec: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The spec with env values replaced by `***`: env may hold secrets, and this is what
    /// string interpolation, `print` and `dump` of any value containing a spec show.
    public var description: String {
        var redacted = self
        redacted.env = env.mapValues { _ in "***" }
        return String(decoding: CanonicalJSON.bytes(of: redacted), as: UTF8.self)
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["spec": description], displayStyle: .struct) }
}

/// A port the agent listens on (`agents[].ports[]`).
public struct PortMapping: Hashable, Sendable, Encodable {
    public enum Transport: String, CaseIterable, Hashable, Sendable, Codable { case tcp, udp }

    /// A name unique within the agent, used by service discovery.
    public var name: String
    public var containerPort: Int
    /// The host port it is published on; `nil` (`host_port` absent or 0): a free port the node
    /// picks when it creates each container (bridge networking), recorded on the instance and
    /// registered for discovery, so two instances on one node never share it.
    public var hostPort: Int?
    public var transport: Transport

    /// Creates a port mapping.
    public init(name: String, containerPort: Int, hostPort: Int? = nil, transport: Transport = .tcp) {
        self.name = name
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.transport = transport
    }

    enum CodingKeys: String, CodingKey {
        case name
        case containerPort = "container_port"
        case hostPort = "host_port"
        case transport = "protocol"
    }
}

/// A health check the agent runs itself on its interval (`agents[].health_checks[]`).
public struct HealthCheck: Hashable, Sendable {
    /// What the check does.
    public enum Probe: Hashable, Sendable {
        /// GET `path` on `port`; any 2xx passes.
        case http(port: Int, path: String)
        /// A TCP connection to `port` succeeds.
        case tcp(port: Int)
        /// `command` run inside the instance exits 0.
        case exec(command: [String])
    }

    /// The kinds a manifest may name.
    public enum Kind: String, CaseIterable, Sendable { case http, tcp, exec }

    public var name: String
    public var probe: Probe
    public var intervalMs: Int
    public var timeoutMs: Int

    /// Default interval between runs.
    public static let defaultIntervalMs = 10_000
    /// Default time a single run may take.
    public static let defaultTimeoutMs = 2_000

    /// Creates a health check.
    public init(name: String, probe: Probe, intervalMs: Int = defaultIntervalMs, timeoutMs: Int = defaultTimeoutMs) {
        self.name = name
        self.probe = probe
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
    }

    /// The probe's kind.
    public var kind: Kind {
        switch probe {
        case .http: .http
        case .tcp: .tcp
        case .exec: .exec
        }
    }
}

/// How an instance is stopped (`agents[].lifecycle`, seed 004).
///
/// The stop signal is baked into the container at create; the grace period drives
/// the stop timeout, after which the runtime always kills.
public struct Lifecycle: Hashable, Sendable, Encodable {
    public var stopSignal: String
    public var gracePeriodMs: Int
    /// For an agent that offers services: how long an instance is out of discovery, so clients
    /// stop sending to it, before its stop signal (`shutdown_delay_ms`; 0 allowed).
    public var shutdownDelayMs: Int

    /// SIGTERM, then 30 s of grace; 1 s out of discovery first for agents that offer services.
    public static let defaults = Lifecycle(stopSignal: "SIGTERM", gracePeriodMs: 30_000, shutdownDelayMs: 1_000)

    /// Signals a manifest may name as `stop_signal`.
    public static let allowedSignals = [
        "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGKILL",
    ]

    /// Creates a lifecycle.
    public init(stopSignal: String, gracePeriodMs: Int, shutdownDelayMs: Int = 1_000) {
        self.stopSignal = stopSignal
        self.gracePeriodMs = gracePeriodMs
        self.shutdownDelayMs = shutdownDelayMs
    }

    enum CodingKeys: String, CodingKey {
        case stopSignal = "stop_signal"
        case gracePeriodMs = "grace_period_ms"
        case shutdownDelayMs = "shutdown_delay_ms"
    }
}

/// What an instance needs from its node (`agents[].resources`).
public struct Resources: Hashable, Sendable, Encodable {
    /// CPU in thousandths of a core.
    public var cpuMillis: Int?
    public var memoryMB: Int?
    public var devices: [DeviceRequest]

    /// No requirements.
    public static let none = Resources(cpuMillis: nil, memoryMB: nil, devices: [])

    /// Creates resource requirements.
    public init(cpuMillis: Int?, memoryMB: Int?, devices: [DeviceRequest]) {
        self.cpuMillis = cpuMillis
        self.memoryMB = memoryMB
        self.devices = devices
    }

    enum CodingKeys: String, CodingKey {
        case devices
        case cpuMillis = "cpu_millis"
        case memoryMB = "memory_mb"
    }
}

/// A device an instance needs, such as a GPU (`resources.devices[]`).
public struct DeviceRequest: Hashable, Sendable, Encodable {
    /// The device class, e.g. `gpu`.
    public var kind: String
    /// The driver it must use, e.g. `cuda`.
    public var driver: String?
    public var minMemoryMB: Int?
    public var count: Int

    /// Creates a device request.
    public init(kind: String, driver: String? = nil, minMemoryMB: Int? = nil, count: Int = 1) {
        self.kind = kind
        self.driver = driver
        self.minMemoryMB = minMemoryMB
        self.count = count
    }

    enum CodingKeys: String, CodingKey {
        case kind, driver, count
        case minMemoryMB = "min_memory_mb"
    }
}

/// A service that must be healthy on the node before the agent starts (`requires_services[]`).
public struct ServiceRequirement: Hashable, Sendable, Encodable {
    public var name: String
    public var tags: [String]
    public var required: Bool

    /// Creates a service requirement.
    public init(name: String, tags: [String] = [], required: Bool = true) {
        self.name = name
        self.tags = tags
        self.required = required
    }
}

/// A service an agent's instances offer (`agents[].services[]`): discovery returns each
/// running instance under `name`, at its node's address and the host port of `port`.
public struct ServiceSpec: Hashable, Sendable, Encodable {
    public var name: String
    /// The name of one of the agent's `ports`.
    public var port: String
    public var tags: [String]

    /// Creates a service.
    public init(name: String, port: String, tags: [String] = []) {
        self.name = name
        self.port = port
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey { case name, port, tags }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(port, forKey: .port)
        if !tags.isEmpty { try container.encode(tags, forKey: .tags) }
    }
}

/// A message edge between two agents of the same manifest (`edges[]`).
public struct TopologyEdge: Hashable, Sendable, Encodable, Comparable {
    public var from: AgentID
    public var to: AgentID

    /// Creates an edge.
    public init(from: AgentID, to: AgentID) {
        self.from = from
        self.to = to
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.from, lhs.to) < (rhs.from, rhs.to) }
}
