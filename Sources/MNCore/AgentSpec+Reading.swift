extension AgentSpec {
    /// Fields other tools use to give a container more of its host than its own namespaces
    /// (podman's and Compose's names), refused with what they ask for and what to do instead,
    /// rather than as unknown fields.
    static let privilegeFields: [String: (asks: String, instead: String)] = {
        let outside = "run such a workload outside mn"
        let network = "the node's agent config sets the network ('network': bridge, host or none)"
        return [
            "privileged": ("privileged containers", outside), "cap_add": ("added capabilities", outside),
            "capabilities": ("added capabilities", outside), "mounts": ("host mounts", outside),
            "volumes": ("host mounts", outside), "binds": ("host mounts", outside),
            "network": ("a network mode", network), "network_mode": ("a network mode", network), "net": ("a network mode", network),
            "pid": ("the host's PID namespace", outside), "ipc": ("the host's IPC namespace", outside),
            "userns": ("a user namespace mode", outside), "security_opt": ("security options", outside),
            "sysctls": ("kernel settings", outside),
            "devices": ("raw host devices", "ask for devices by kind in resources.devices; a node offers those its agent config lists"),
        ]
    }()

    /// Reports each privilege field `fields` sets: mn grants none of them from a manifest.
    private static func refusePrivileges(_ fields: ObjectFields) {
        for (key, refusal) in privilegeFields.sorted(by: { $0.key < $1.key }) where fields.has(key) {
            fields.allow(key)
            fields.reader.problems.add(fields.path.appending(key), "mn does not give a manifest \(refusal.asks); \(refusal.instead)")
        }
    }

    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> AgentSpec? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let problems = reader.problems
        refusePrivileges(fields)
        let id = fields.required("id", Names.read)
        let count = fields.optional("count") { $0.int($1, at: $2, in: 1...10_000) } ?? 1

        let image = fields.optional("image") { $0.nonEmptyString($1, at: $2) }
        let exec = fields.optional("exec") { $0.nonEmptyString($1, at: $2) }
        var workload: Workload?
        switch (image, exec) {
        case (let image?, nil):
            if image.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 32 } == true }) {
                problems.add(path.appending("image"), "'\(image)' is not an image reference; it must not contain spaces")
            }
            workload = .image(image)
        case (nil, let exec?):
            if !exec.hasPrefix("/") {
                problems.add(path.appending("exec"), "must be an absolute path to an executable, got '\(exec)'")
            }
            workload = .exec(exec)
        case (.some, .some):
            problems.add(path, "sets both image and exec; an agent runs either a container image or an executable")
        case (nil, nil):
            if !fields.has("image") && !fields.has("exec") {
                problems.add(path, "needs image (a container image) or exec (an absolute path to an executable)")
            }
        }

        let args = fields.optional("args") { r, v, p in r.array(v, at: p) { r.string($0, at: $1) } } ?? []
        let env = fields.optional("env") { $0.stringMap($1, at: $2) } ?? [:]
        for name in env.keys.sorted() where !Names.isValidEnvironmentName(name) {
            problems.add(
                path.appending("env").appending(name),
                "'\(name)' is not a valid environment variable name; use letters, digits and '_', not starting with a digit")
        }
        let ports = fields.optional("ports") { r, v, p in r.indexedArray(v, at: p, element: { PortMapping.read(r, $0, $1) }) } ?? []
        let checks =
            fields.optional("health_checks") { r, v, p in r.indexedArray(v, at: p, element: { HealthCheck.read(r, $0, $1) }) } ?? []
        let lifecycle = fields.optional("lifecycle", Lifecycle.read) ?? .defaults
        let resources = fields.optional("resources", Resources.read) ?? .none
        let requires =
            fields.optional("requires_services") { r, v, p in
                r.array(v, at: p, element: { ServiceRequirement.read(r, $0, $1) })
            } ?? []
        let services =
            fields.optional("services") { r, v, p in r.indexedArray(v, at: p, element: { ServiceSpec.read(r, $0, $1) }) } ?? []
        let constraints = fields.optional("constraints", PlacementConstraint.readList) ?? []

        guard let id else { return nil }
        checkPortsAndChecks(id: id, ports: ports, checks: checks, at: path, problems: problems)
        let portNames = Set(ports.map(\.value.name))
        var serviceNames: [String: Int] = [:]
        for (index, service) in services {
            let servicePath = path.appending("services").appending(index: index)
            if let first = serviceNames[service.name] {
                problems.add(servicePath.appending("name"), "'\(service.name)' is already offered by services[\(first)]")
            } else {
                serviceNames[service.name] = index
            }
            if !portNames.contains(service.port) {
                let known = portNames.isEmpty ? "the agent declares no ports" : "its ports are \(portNames.sorted().joined(separator: ", "))"
                problems.add(servicePath.appending("port"), "'\(service.port)' is not a port of agent '\(id)'; \(known)")
            }
        }
        guard let workload else { return nil }
        return AgentSpec(
            id: AgentID(id), count: count, workload: workload, args: args, env: env, ports: ports.map(\.value),
            healthChecks: checks.map(\.value), lifecycle: lifecycle, resources: resources, requiresServices: requires,
            services: services.map(\.value), constraints: constraints)
    }

    /// Port names and container ports are unique; every http/tcp check targets a declared port.
    private static func checkPortsAndChecks(
        id: String, ports: [(index: Int, value: PortMapping)], checks: [(index: Int, value: HealthCheck)], at path: FieldPath,
        problems: ProblemCollector
    ) {
        var names: [String: Int] = [:]
        var containerPorts: [HostPort: Int] = [:]
        for (index, port) in ports {
            let portPath = path.appending("ports").appending(index: index)
            if let first = names[port.name] {
                problems.add(portPath.appending("name"), "'\(port.name)' is already used by ports[\(first)]")
            } else {
                names[port.name] = index
            }
            let slot = HostPort(port.containerPort, port.transport)  // the same pair, on the container's side
            if let first = containerPorts[slot] {
                problems.add(portPath.appending("container_port"), "\(slot) is already declared by ports[\(first)]")
            } else {
                containerPorts[slot] = index
            }
        }
        var checkNames: [String: Int] = [:]
        let declared = Set(ports.map(\.value.containerPort))
        for (index, check) in checks {
            let checkPath = path.appending("health_checks").appending(index: index)
            if let first = checkNames[check.name] {
                problems.add(
                    checkPath.appending("name"),
                    "'\(check.name)' is already used by health_checks[\(first)]; give each check its own name")
            } else {
                checkNames[check.name] = index
            }
            let port: Int? =
                switch check.probe {
                case .http(let port, _), .tcp(let port): port
                case .exec: nil
                }
            if let port, !declared.contains(port) {
                let list = declared.isEmpty ? "none declared" : "declared: \(declared.sorted().map(String.init).joined(separator: ", "))"
                problems.add(
                    checkPath.appending("port"),
                    "\(port) is not a container port of agent '\(id)' (\(list)); add it under ports")
            }
        }
    }
}

extension PortMapping {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> PortMapping? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let name = fields.required("name", Names.read)
        let containerPort = fields.required("container_port") { $0.int($1, at: $2, in: 1...65535) }
        // 0 asks for a dynamic port, as an absent host_port does.
        let hostPort = fields.optional("host_port") { $0.int($1, at: $2, in: 0...65535) }.flatMap { $0 == 0 ? nil : $0 }
        let transport = fields.optional("protocol") { $0.choice($1, at: $2, as: Transport.self) } ?? .tcp
        guard let name, let containerPort else { return nil }
        return PortMapping(name: name, containerPort: containerPort, hostPort: hostPort, transport: transport)
    }
}

extension HealthCheck {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> HealthCheck? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let kind = fields.required("kind") { $0.choice($1, at: $2, as: Kind.self) }
        let name = fields.optional("name", Names.read)
        let interval = fields.optional("interval_ms") { $0.int($1, at: $2, in: 100...Int.max) } ?? defaultIntervalMs
        let timeout = fields.optional("timeout_ms") { $0.int($1, at: $2, in: 1...Int.max) } ?? defaultTimeoutMs
        let port = fields.optional("port") { $0.int($1, at: $2, in: 1...65535) }
        let path_ = fields.optional("path") { $0.nonEmptyString($1, at: $2) }
        let command = fields.optional("command") { r, v, p in r.array(v, at: p) { r.string($0, at: $1) } }

        if timeout > interval {
            reader.problems.add(path.appending("timeout_ms"), "must not exceed interval_ms (\(interval)), got \(timeout)")
        }
        func unused(_ key: String, _ present: Bool, for kind: Kind) {
            if present { reader.problems.add(path.appending(key), "is not used by a '\(kind.rawValue)' check; remove it") }
        }
        let probe: Probe?
        switch kind {
        case .http:
            if port == nil && !fields.has("port") { reader.problems.add(path.appending("port"), "is required for an 'http' check") }
            if let path_, !path_.hasPrefix("/") {
                reader.problems.add(path.appending("path"), "must start with '/', got '\(path_)'")
            }
            unused("command", command != nil, for: .http)
            probe = port.map { .http(port: $0, path: path_ ?? "/") }
        case .tcp:
            if port == nil && !fields.has("port") { reader.problems.add(path.appending("port"), "is required for a 'tcp' check") }
            unused("path", path_ != nil, for: .tcp)
            unused("command", command != nil, for: .tcp)
            probe = port.map { .tcp(port: $0) }
        case .exec:
            if command?.isEmpty ?? !fields.has("command") {
                reader.problems.add(path.appending("command"), "must list the program and its arguments for an 'exec' check")
            }
            unused("port", port != nil, for: .exec)
            unused("path", path_ != nil, for: .exec)
            probe = command.flatMap { $0.isEmpty ? nil : .exec(command: $0) }
        case nil:
            probe = nil
        }
        guard let kind, let probe else { return nil }
        return HealthCheck(name: name ?? kind.rawValue, probe: probe, intervalMs: interval, timeoutMs: timeout)
    }
}

extension Lifecycle {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Lifecycle? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        var lifecycle = Lifecycle.defaults
        if let signal = fields.optional("stop_signal", { $0.string($1, at: $2) }) {
            let normalized = signal.uppercased().hasPrefix("SIG") ? signal.uppercased() : "SIG" + signal.uppercased()
            if Lifecycle.allowedSignals.contains(normalized) {
                lifecycle.stopSignal = normalized
            } else {
                reader.problems.add(
                    path.appending("stop_signal"),
                    "unknown signal '\(signal)'; must be one of \(Lifecycle.allowedSignals.joined(separator: ", "))")
            }
        }
        lifecycle.gracePeriodMs =
            fields.optional("grace_period_ms") { $0.int($1, at: $2, in: 0...3_600_000) } ?? lifecycle.gracePeriodMs
        lifecycle.shutdownDelayMs =
            fields.optional("shutdown_delay_ms") { $0.int($1, at: $2, in: 0...600_000) } ?? lifecycle.shutdownDelayMs
        return lifecycle
    }
}

extension Resources {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Resources? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        return Resources(
            cpuMillis: fields.optional("cpu_millis") { $0.int($1, at: $2, in: 1...Int.max) },
            memoryMB: fields.optional("memory_mb") { $0.int($1, at: $2, in: 1...Int.max) },
            devices: fields.optional("devices") { r, v, p in r.array(v, at: p, element: { DeviceRequest.read(r, $0, $1) }) } ?? [])
    }
}

extension DeviceRequest {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> DeviceRequest? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let kind = fields.required("kind", Names.read)
        let driver = fields.optional("driver") { $0.nonEmptyString($1, at: $2) }
        let minMemory = fields.optional("min_memory_mb") { $0.int($1, at: $2, in: 1...Int.max) }
        let count = fields.optional("count") { $0.int($1, at: $2, in: 1...1024) } ?? 1
        guard let kind else { return nil }
        return DeviceRequest(kind: kind, driver: driver, minMemoryMB: minMemory, count: count)
    }
}

extension ServiceRequirement {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> ServiceRequirement? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let name = fields.required("name", Names.read)
        let tags = fields.optional("tags") { r, v, p in r.array(v, at: p) { r.nonEmptyString($0, at: $1) } } ?? []
        let required = fields.optional("required") { $0.bool($1, at: $2) } ?? true
        guard let name else { return nil }
        return ServiceRequirement(name: name, tags: tags, required: required)
    }
}

extension ServiceSpec {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> ServiceSpec? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let name = fields.required("name", Names.read)
        let port = fields.required("port") { $0.nonEmptyString($1, at: $2) }
        let tags = fields.optional("tags") { r, v, p in r.array(v, at: p) { r.nonEmptyString($0, at: $1) } } ?? []
        guard let name, let port else { return nil }
        return ServiceSpec(name: name, port: port, tags: tags)
    }
}

extension TopologyEdge {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> TopologyEdge? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let from = fields.required("from", Names.read)
        let to = fields.required("to", Names.read)
        guard let from, let to else { return nil }
        return TopologyEdge(from: AgentID(from), to: AgentID(to))
    }
}
