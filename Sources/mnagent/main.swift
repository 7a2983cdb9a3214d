import ArgumentParser
import Foundation
import Logging
import MNAgent
import MNCore
import ServiceLifecycle

/// `mnagent`: the per-host daemon, run under systemd.
@main
struct MNAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnagent",
        abstract: "The mn node agent: keeps this host's containers at the desired state in Redis.",
        discussion: """
            One mnagent runs per host. It registers its node (see 'mnctl node list') and heartbeats, runs the instances the cluster controller assigns to this node through podman's REST API (the pure node reconciler decides what to start, replace or stop), runs their health checks and reports what it saw to Redis for 'mnctl deployment status'.

            Every mnagent is a candidate for the controller's lease in Redis unless started with --no-controller; the one holding it places every deployment's instances across the registered nodes and steps their rollouts. A single host is a one-node cluster: its mnagent is both.

            Stopping mnagent (SIGTERM, SIGINT) leaves every workload running; a new mnagent adopts them by their labels and ids without recreating anything.

            With no Redis URL, it uses (and if needed starts) a redis-server on a unix socket in the state directory, the same one mnctl uses. With no podman socket, it uses the system podman service or starts its own.
            """,
        version: "0.1.0")

    @Option(name: .long, help: "This node's name (env MN_NODE_ID; default the host name).")
    var nodeID: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis URL: redis://[user:password@]host[:port][/db], unix:///path or redis+sentinel://host:26379[,…]/MASTER (env MN_REDIS_URL).",
            discussion: "With a redis+sentinel:// URL the agent asks the sentinels where the master is, and again after a failover."))
    var redis: String?

    @Option(name: .long, help: "The podman service socket (default: the system service, or one mnagent starts).")
    var podmanSocket: String?

    @Option(name: .long, help: "State directory (env MN_STATE_DIR; default /var/lib/mn as root).")
    var stateDir: String?

    @Option(name: .long, help: "Agent config file: network and rlimits for containers (default /etc/mn/agent.json if present).")
    var config: String?

    @Option(name: .long, help: "The address other hosts and clients reach this node at (default: config 'address', else the host's primary address).")
    var advertiseAddress: String?

    @Flag(name: .long, help: "Never act as the cluster controller (by default every agent is a candidate for the lease).")
    var noController = false

    @Option(name: .long, help: "Seconds between resyncs when nothing announces a change.")
    var resyncInterval: Double = 10

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if ProcessArguments.hidePasswords() {
            FileHandle.standardError.write(
                Data("note: the Redis password in --redis is now hidden from ps, but other users could read it at start; give the URL in MN_REDIS_URL instead (a systemd EnvironmentFile= readable by root only)\n".utf8))
        }
        await main(arguments)
    }

    func validate() throws {
        if let advertiseAddress, advertiseAddress.isEmpty || advertiseAddress.contains(where: \.isWhitespace) {
            throw ValidationError("--advertise-address must be a host name or IP address, got '\(advertiseAddress)'")
        }
        guard resyncInterval >= 0.05 else { throw ValidationError("--resync-interval must be at least 0.05 seconds") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mnagent")
        let environment = ProcessInfo.processInfo.environment
        let stateDirectory = stateDir ?? LocalRedis.defaultStateDirectory(environment: environment)
        let node = NodeID(nodeID ?? environment["MN_NODE_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.hostName)

        let podman: PodmanSocket.Resolved
        let store: DeploymentStore
        let nodeConfig: NodeConfig
        do {
            nodeConfig = try NodeConfig.load(path: config)
            store = DeploymentStore(
                redis: try await LocalRedis.client(url: redis ?? environment["MN_REDIS_URL"], stateDirectory: stateDirectory))
            podman = try await PodmanSocket.resolve(given: podmanSocket, stateDirectory: stateDirectory, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let runtime = PodmanRuntime(socketPath: podman.path, config: nodeConfig)
        let ttl = Duration.milliseconds(nodeConfig.heartbeatTTLMs)
        let heartbeat = NodeHeartbeat(
            registry: NodeRegistry(redis: store.redis),
            info: await HostFacts.nodeInfo(node, config: nodeConfig, address: advertiseAddress), ttl: ttl, logger: logger)
        var services: [any Service] = [heartbeat]
        var role: NodeAgent<PodmanRuntime>.ControllerRole?
        if !noController {
            let lease = LeaderLease(redis: store.redis, node: node, ttl: ttl)
            let election = LeaderElection(lease: lease, logger: logger)
            services.append(election)
            role = .init(controller: ClusterController(store: store, lease: lease, logger: logger), election: election)
        }
        let agent = NodeAgent(
            store: store, runtime: runtime,
            settings: .init(
                node: node, resyncIntervalMs: Int64(resyncInterval * 1_000),
                payloadDirectory: (stateDirectory as NSString).appendingPathComponent("payloads")),
            logger: logger, prober: PodmanHealthProber(runtime: runtime), controller: role)
        services.insert(agent, at: 0)
        let keeper = PodmanServiceKeeper(podman, stateDirectory: stateDirectory, logger: logger)
        if PodmanServiceKeeper.isNeeded(for: podman) { services.append(keeper) }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.error("mnagent stopped: \(error)")
        }
        await keeper.stop()
        await store.redis.close()
    }
}
