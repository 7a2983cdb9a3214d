import ArgumentParser
import Foundation
import MNAgent
import MNCore

/// Where mn's state lives: `--redis`, `--state-dir`, shared by every command that reads or
/// writes it.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis URL: redis://[user:password@]host[:port][/db], unix:///path/redis.sock or redis+sentinel://host:26379[,…]/MASTER (env MN_REDIS_URL).",
            discussion: "Without one, mnctl uses (and if needed starts) a local redis-server in the state directory. "
                + "A redis+sentinel:// URL lists sentinels and the master's name; mnctl asks them where the master is."))
    var redis: String?

    @Option(name: .long, help: "State directory of the local Redis (env MN_STATE_DIR; default /var/lib/mn as root).")
    var stateDir: String?

    /// Opens the store, or exits with a message saying what to fix.
    func open() async throws -> DeploymentStore {
        let environment = ProcessInfo.processInfo.environment
        do {
            return DeploymentStore(
                redis: try await LocalRedis.client(
                    url: redis ?? environment["MN_REDIS_URL"],
                    stateDirectory: stateDir ?? LocalRedis.defaultStateDirectory(environment: environment)))
        } catch {
            printError("error: \(error)")
            throw ExitStatus.unreachable
        }
    }
}

/// Where a change lets the controller place a deployment: `--node` pins it, `--any-node`
/// removes a pin; for the commands that make a new version or run.
struct PinOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pin the deployment to this node (the placement constraint node.id = NODE).",
            discussion: "Without it, a deployment keeps the pin it has; a new one goes on any node that fits."))
    var node: String?

    @Flag(name: .long, help: "Remove the deployment's pin: the controller places it on any node that fits.")
    var anyNode = false

    func validate() throws {
        if anyNode && node != nil { throw ValidationError("--node and --any-node contradict each other; give one") }
        if node?.isEmpty == true { throw ValidationError("--node needs a node id (mnctl node list); --any-node removes a pin") }
    }

    /// Where a change lets the controller place a deployment.
    var pin: DeploymentStore.Pin {
        if anyNode { return .anyNode }
        return node.map { .node(NodeID($0)) } ?? .keep
    }
}

/// Says on standard error when nothing will act on a change yet: no agent is the cluster
/// controller, or none registered the node it is pinned to (`node`), or that node's agent
/// stopped heartbeating. (Nothing is wrong with the change; it waits.)
func noteIfNothingActs(pinnedTo node: NodeID?, in store: DeploymentStore) async {
    do {
        if try await LeaderLease.holder(in: store.redis) == nil {
            printError(
                "note: no mnagent is the cluster controller now (none runs, or all run with --no-controller); "
                    + "the change waits until one is (mnctl node list)")
        }
    } catch {
        return  // Redis cannot tell: nothing to add
    }
    guard let node else { return }
    let ready: Bool?
    do {
        ready = try await NodeRegistry(redis: store.redis).isReady(node)
    } catch {
        return  // Redis cannot tell: nothing to add
    }
    switch ready {
    case true: break
    case false:
        printError("note: node \(node) is down (its mnagent stopped heartbeating); the change waits for it (mnctl node list)")
    case nil:
        printError(
            "note: no mnagent has registered node \(node) yet; the change waits until one does (mnagent --node-id \(node); mnctl node list)")
    }
}

/// Runs `body` against the store, turning failures into a message and an exit code: 3 when
/// Redis cannot be reached, 1 for a refused change.
func withStore<T>(_ options: StoreOptions, _ body: (DeploymentStore) async throws -> T) async throws -> T {
    let store = try await options.open()
    do {
        let result = try await body(store)
        await store.redis.close()
        return result
    } catch let exit as ExitCode {
        await store.redis.close()
        throw exit
    } catch let redis as RedisError where redis.isConnectionError {
        await store.redis.close()
        printError("error: cannot reach Redis: \(redis) (is it running? --redis or MN_REDIS_URL says where)")
        throw ExitStatus.unreachable
    } catch {
        await store.redis.close()
        printError("error: \(error)")
        throw ExitStatus.failed
    }
}
