import AsyncHTTPClient
import Foundation
public import MNCore
public import MNReconcile
import NIOCore
import NIOHTTP1

/// ``ContainerRuntime`` over podman's libpod REST API on its unix socket. Containers are
/// found by mn's label and named by id; nothing parses podman's CLI output.
public final class PodmanRuntime: ContainerRuntime {
    public let socketPath: String
    public let config: NodeConfig
    /// The process-wide client: it needs no shutdown, so a runtime needs no lifecycle.
    private var client: HTTPClient { .shared }

    /// The API version path every request uses (podman 4.x).
    static let apiBase = "/v4.0.0/libpod"

    /// Talks to the podman service at `socketPath`, creating containers with `config`'s settings.
    public init(socketPath: String, config: NodeConfig = .defaults) {
        self.socketPath = socketPath
        self.config = config
    }

    /// Whether the service answers `_ping`.
    public func ping() async -> Bool {
        (try? await request(.GET, "/_ping", timeout: .seconds(2)).status) == .ok
    }

    public func listManaged() async throws -> [ObservedContainer] {
        let filters = #"{"label":["\#(ContainerLabel.deploymentKey)"]}"#
        let query = "all=true&filters=" + (filters.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let response = try expect([.ok], try await request(.GET, "/containers/json?\(query)"), operation: "list")
        struct Entry: Decodable {
            let Id: String
            let Names: [String]?
            let Labels: [String: String]?
            let State: String
            let ExitCode: Int?
            let StartedAt: Int64?
            let ExitedAt: Int64?
            let Ports: [Port]?
        }
        struct Port: Decodable {
            let container_port: Int
            let host_port: Int
            let range: Int?
            let `protocol`: String?
        }
        let entries = try decode([Entry].self, from: response.body, operation: "list")
        return entries.map { entry in
            ObservedContainer(
                id: ContainerID(entry.Id), name: entry.Names?.first ?? "", labels: entry.Labels ?? [:],
                state: Self.state(entry.State), exitCode: entry.ExitCode,
                startedAt: entry.StartedAt.flatMap { $0 > 0 ? Timestamp(milliseconds: $0 * 1_000) : nil },
                finishedAt: entry.State == "exited" ? entry.ExitedAt.flatMap { $0 > 0 ? Timestamp(milliseconds: $0 * 1_000) : nil } : nil,
                ports: (entry.Ports ?? []).flatMap { port in
                    (0..<max(1, port.range ?? 1)).map { offset in
                        PublishedPort(
                            containerPort: port.container_port + offset, hostPort: port.host_port + offset,
                            transport: port.protocol.flatMap(PortMapping.Transport.init(rawValue:)) ?? .tcp)
                    }
                })
        }
    }

    public func create(_ request: StartContainer) async throws -> ContainerID {
        let body = try createSpec(for: request)
        let response = try expect([.created], try await self.request(.POST, "/containers/create", body: body), operation: "create")
        struct Created: Decodable { let Id: String }
        return ContainerID(try decode(Created.self, from: response.body, operation: "create").Id)
    }

    public func start(_ id: ContainerID) async throws {
        do {
            try expect([.noContent, .notModified], try await request(.POST, "/containers/\(id)/start"), operation: "start", container: id)
            if config.network == "bridge" { await BridgeAddress.pin() }
        } catch let error as RuntimeError where error.isPortTaken {
            // Its host port was taken since create: remove it, so a new create picks another.
            try? await remove(id)
            throw error
        }
    }

    public func stop(_ id: ContainerID, signal: String, gracePeriodMs: Int) async throws {
        // The signal was baked in at create; podman sends it, waits `timeout` s, then kills.
        let seconds = (gracePeriodMs + 999) / 1_000
        try expect(
            [.noContent, .notModified],
            try await request(.POST, "/containers/\(id)/stop?timeout=\(seconds)", timeout: .seconds(Int64(seconds) + 30)),
            operation: "stop", container: id)
    }

    public func remove(_ id: ContainerID) async throws {
        try expect([.ok, .noContent], try await request(.DELETE, "/containers/\(id)?force=false"), operation: "remove", container: id)
    }

    public func imageExists(_ reference: String) async throws -> Bool {
        let name = reference.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? reference
        let response = try expect([.noContent, .notFound], try await request(.GET, "/images/\(name)/exists"), operation: "image exists")
        return response.status == .noContent
    }

    // MARK: Requests

    /// The libpod create spec for a start: identity labels, the stop signal and grace baked
    /// in, an init process (so PID 1 honours SIGTERM), and the node's rlimits and network.
    func createSpec(for request: StartContainer) throws -> [UInt8] {
        let spec = request.instance.spec
        guard case .image(let image) = spec.workload else {
            throw RuntimeError(
                operation: "create", message: "agent '\(spec.id)' runs an executable (exec), which runs under systemd, not podman")
        }
        let wanted = spec.resources.devices.map(\.count).reduce(0, +)
        let given = request.instance.devices
        guard given.count >= wanted else {
            throw RuntimeError(
                operation: "create",
                message: "agent '\(spec.id)' requests \(wanted) devices and was given \(given.count); the controller allocates them")
        }
        guard let signal = Self.signalNumbers[spec.lifecycle.stopSignal] else {
            throw RuntimeError(operation: "create", message: "unknown stop signal \(spec.lifecycle.stopSignal)")
        }
        var body: [String: JSONValue] = [
            "name": .string(request.name),
            "image": .string(image),
            "labels": .object(request.labels.mapValues(JSONValue.string)),
            "env": .object(Self.environment(of: spec, devices: given).mapValues(JSONValue.string)),
            "stop_signal": .integer(Int64(signal)),
            "stop_timeout": .integer(Int64((spec.lifecycle.gracePeriodMs + 999) / 1_000)),
            "init": .bool(true),
            "netns": .object(["nsmode": .string(config.network)]),
        ]
        if !spec.args.isEmpty { body["command"] = .array(spec.args.map(JSONValue.string)) }
        if !request.instance.payloads.isEmpty {
            guard let folder = request.payloadDirectory else {
                throw RuntimeError(operation: "create", message: "the payloads of \(request.instance.id) were not written to this node")
            }
            body["mounts"] = .array([
                .object([
                    "destination": .string(Payload.mountPath), "source": .string(folder), "type": .string("bind"),
                    "options": .array([.string("ro"), .string("rbind")]),
                ])
            ])
        }
        if !given.isEmpty {
            body["devices"] = .array(given.map { .object(["path": .string(Self.devicePath(of: $0, for: spec))]) })
        }
        if !config.rlimits.isEmpty {
            body["r_limits"] = .array(
                config.rlimits.map {
                    .object(["type": .string($0.type), "soft": .integer(Int64($0.soft)), "hard": .integer(Int64($0.hard))])
                })
        }
        // A port without a fixed host port is published on host port 0: podman picks a free one
        // at create (bridge networking only; under `host` the container binds the host itself).
        let published = spec.ports.compactMap { port -> JSONValue? in
            guard port.hostPort != nil || config.network == "bridge" else { return nil }
            return .object([
                "container_port": .integer(Int64(port.containerPort)), "host_port": .integer(Int64(port.hostPort ?? 0)),
                "protocol": .string(port.transport.rawValue),
            ])
        }
        if !published.isEmpty { body["portmappings"] = .array(published) }
        var limits: [String: JSONValue] = [:]
        if let memory = spec.resources.memoryMB { limits["memory"] = .object(["limit": .integer(Int64(memory) * 1_048_576)]) }
        if let cpu = spec.resources.cpuMillis {
            limits["cpu"] = .object(["quota": .integer(Int64(cpu) * 100), "period": .integer(100_000)])
        }
        if !limits.isEmpty { body["resource_limits"] = .object(limits) }
        return CanonicalJSON.bytes(.object(body))
    }

    /// The container's environment: the spec's, and `MN_DEVICE_IDS` (the allocated device ids,
    /// comma-separated) when it was given devices.
    static func environment(of spec: AgentSpec, devices: [String]) -> [String: String] {
        var env = spec.env
        if !devices.isEmpty { env["MN_DEVICE_IDS"] = devices.joined(separator: ",") }
        return env
    }

    /// What podman is given for an allocated device: a device path as it is, a GPU by its CDI
    /// name (`nvidia.com/gpu=0`, the NVIDIA container toolkit's), anything else as `/dev/ID`.
    static func devicePath(of id: String, for spec: AgentSpec) -> String {
        if id.hasPrefix("/") { return id }
        if spec.resources.devices.contains(where: { $0.kind == "gpu" }) { return "nvidia.com/gpu=\(id)" }
        return "/dev/\(id)"
    }

    struct Response {
        let status: HTTPResponseStatus
        let body: [UInt8]
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: TimeAmount = .seconds(60)) async throws -> Response {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: Self.apiBase + path) else {
            throw RuntimeError(operation: "request", message: "cannot address podman at \(socketPath)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Host", value: "localhost")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return Response(status: response.status, body: Array(buffer: bytes))
        } catch {
            throw RuntimeError(operation: "request", message: "podman at \(socketPath) did not answer \(method) \(path): \(error)")
        }
    }

    @discardableResult
    func expect(_ statuses: [HTTPResponseStatus], _ response: Response, operation: String, container: ContainerID? = nil) throws -> Response
    {
        guard statuses.contains(response.status) else {
            struct Failure: Decodable {
                let message: String?
                let cause: String?
            }
            let failure = try? JSONDecoder().decode(Failure.self, from: Data(response.body))
            let message = failure?.message ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            throw RuntimeError(
                operation: operation, container: container, message: message,
                isNoSuchContainer: response.status == .notFound && container != nil)
        }
        return response
    }

    func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw RuntimeError(operation: operation, message: "podman's answer was not what mn expects: \(error)")
        }
    }

    static func state(_ podman: String) -> ObservedContainer.State {
        switch podman {
        case "created", "configured", "initialized": .created
        case "running": .running
        case "paused", "stopping": .paused
        case "exited", "stopped": .exited
        default: .unknown
        }
    }

    /// Linux signal numbers of the names a manifest may use.
    static let signalNumbers: [String: Int] = [
        "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGUSR1": 10, "SIGUSR2": 12, "SIGTERM": 15, "SIGWINCH": 28,
    ]
}
