import Foundation
public import MNCore
public import MNReconcile

/// Everything the cluster controller reads in one pass, in a handful of commands whatever
/// the fleet's size (`MGET` of every record, report and assignment; versions come from the
/// store's cache), plus the stored values its writes are guarded by.
public struct ClusterState: Sendable {
    /// The registered nodes, ready or not.
    public var nodes: [NodeRegistry.Entry]
    /// Every deployment, sorted by key.
    public var deployments: [Deployment]
    /// Each record exactly as stored: the controller writes a record only if it is still this.
    var storedRecords: [DeploymentKey: String]
    /// How many of each deployment's versions are in its versions hash (none for a record from
    /// before versions were kept apart, which carries them inline until its next write).
    var storedVersions: [DeploymentKey: Int]
    /// Each node's last reported instances.
    public var reports: [NodeID: [InstanceStatus]]
    /// Verdicts of the deployments still Validating.
    public var verdicts: [DeploymentKey: [NodeID: ValidationVerdict]]
    /// Every stored assignment.
    public var assignments: [NodeID: NodeAssignment]

    /// The input of ``MNReconcile/ClusterReconciler`` at `now`.
    public func input(at now: Timestamp) -> ClusterReconciler.Input {
        .init(
            nodes: nodes.map(\.info), down: Self.down(nodes, now: now), deployments: deployments, reports: reports,
            verdicts: verdicts, assignments: assignments,
            drains: Dictionary(nodes.compactMap { entry in entry.administration.drain.map { (entry.info.id, $0) } }, uniquingKeysWith: { a, _ in a }),
            now: now)
    }

    /// The nodes that are down, with when their heartbeat expired (on Redis's clock; hosts'
    /// clocks are taken to agree, as for every deadline). A node that is down with no expiry
    /// recorded (registered by an older agent) counts as down since `now`.
    static func down(_ nodes: [NodeRegistry.Entry], now: Timestamp) -> [NodeID: Timestamp] {
        Dictionary(nodes.filter { !$0.ready }.map { ($0.info.id, min($0.expires ?? now, now)) }, uniquingKeysWith: min)
    }

    /// Just after the earliest time a ready node's heartbeat expires, if it is not renewed
    /// (at least 100 ms after `now`).
    func nextExpiry(after now: Timestamp) -> Timestamp? {
        nodes.filter(\.ready).compactMap(\.expires).min().map { max($0.adding(ms: 1), now.adding(ms: 100)) }
    }

    /// What a controller keeps between passes: the reports and assignments it decoded, by the
    /// bytes they came from (most of a fleet's do not change from one pass to the next).
    public final class Cache: Sendable {
        let reports = DecodeCache<NodeID, [InstanceStatus]>()
        let assignments = DecodeCache<NodeID, NodeAssignment>()

        /// An empty cache.
        public init() {}
    }

    /// The part of a report the controller reads (its restart records are the node's own).
    private struct ReportedInstances: Decodable {
        let instances: [InstanceStatus]
    }

    /// Reads the cluster's state from `store`, decoding only what changed since `cache` saw it.
    public static func read(from store: DeploymentStore, cache: Cache = Cache()) async throws -> ClusterState {
        let redis = store.redis
        let nodes = try await NodeRegistry(redis: redis).entries()
        let keys = (try await redis.run("SMEMBERS", StoreKeys.deployments).array ?? []).compactMap(\.string).sorted().map(DeploymentKey.init)
        var deployments: [Deployment] = []
        var stored: [DeploymentKey: String] = [:]
        var storedVersions: [DeploymentKey: Int] = [:]
        var verdicts: [DeploymentKey: [NodeID: ValidationVerdict]] = [:]
        if !keys.isEmpty {
            let records = try await redis.run(["MGET"] + keys.map(StoreKeys.deployment)).array ?? []
            for (key, record) in zip(keys, records) {
                guard let (deployment, count) = try await store.storedDeployment(key, from: record), let text = record.string else { continue }
                deployments.append(deployment)
                stored[key] = text
                storedVersions[key] = count
                if deployment.status == .validating {
                    verdicts[key] = try await readVerdicts(of: key, in: redis)
                }
            }
        }
        // Nodes that reported or hold an assignment but left the registry still count.
        let known = Set(nodes.map(\.info.id)).union(
            (try await redis.run("HKEYS", StoreKeys.nodes).array ?? []).compactMap(\.string).map(NodeID.init)
        ).sorted()
        var reports: [NodeID: [InstanceStatus]] = [:]
        var assignments: [NodeID: NodeAssignment] = [:]
        if !known.isEmpty {
            let reportReplies = try await redis.run(["MGET"] + known.map(StoreKeys.report)).array ?? []
            let assignmentReplies = try await redis.run(["MGET"] + known.map(StoreKeys.assignment)).array ?? []
            let decoder = JSONDecoder()
            for (index, node) in known.enumerated() {
                if index < reportReplies.count, let bytes = reportReplies[index].bytes {
                    do {
                        reports[node] = try cache.reports.value(of: node, bytes: bytes) {
                            try decoder.decode(ReportedInstances.self, from: Data($0)).instances
                        }
                    } catch {
                        throw StoreError("the report of node '\(node)' in Redis is unreadable: \(error)")
                    }
                }
                if index < assignmentReplies.count, let bytes = assignmentReplies[index].bytes {
                    do {
                        assignments[node] = try cache.assignments.value(of: node, bytes: bytes) {
                            try decoder.decode(NodeAssignment.self, from: Data($0))
                        }
                    } catch {
                        throw StoreError("the assignment of node '\(node)' in Redis is unreadable: \(error)")
                    }
                }
            }
        }
        return ClusterState(
            nodes: nodes, deployments: deployments, storedRecords: stored, storedVersions: storedVersions, reports: reports,
            verdicts: verdicts, assignments: assignments)
    }

    private static func readVerdicts(of key: DeploymentKey, in redis: RedisClient) async throws -> [NodeID: ValidationVerdict] {
        let fields = try await redis.run("HGETALL", StoreKeys.verdicts(key)).array ?? []
        var result: [NodeID: ValidationVerdict] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            guard let node = fields[index].string, let bytes = fields[index + 1].bytes,
                let verdict = try? JSONDecoder().decode(ValidationVerdict.self, from: Data(bytes))
            else { continue }
            result[NodeID(node)] = verdict
        }
        return result
    }

    /// The writes that store `output`: each changed record (revision bumped, new versions added),
    /// each changed assignment and a notice to its node; and the guards: every record written
    /// must still be as it was read.
    func writes(of output: ClusterReconciler.Output) throws -> (commands: [[String]], unchanged: [(key: String, value: String)]) {
        var commands: [[String]] = []
        var guards: [(key: String, value: String)] = []
        for var record in output.records {
            record.revision += 1
            let count = storedVersions[record.key] ?? 0
            commands += try DeploymentStore.recordWrites(record, stored: count > 0 ? Set(1...count) : [])
            if let stored = storedRecords[record.key] { guards.append((StoreKeys.deployment(record.key), stored)) }
        }
        for (node, assignment) in output.assignments.sorted(by: { $0.key < $1.key }) {
            commands.append(["SET", StoreKeys.assignment(node), try DeploymentStore.encode(assignment)])
            commands.append(["PUBLISH", StoreKeys.assigned, node.rawValue])
        }
        return (commands, guards)
    }
}
