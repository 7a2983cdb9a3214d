import MNAgent
import MNCore

/// A node as `mnctl node list` and `node status` show it (and `--output json` writes it).
struct NodeView: Encodable {
    struct Resources: Encodable {
        var cpuMillis: Int
        var memoryMB: Int

        enum CodingKeys: String, CodingKey {
            case cpuMillis = "cpu_millis"
            case memoryMB = "memory_mb"
        }
    }

    var id: NodeID
    var address: String
    /// `ready` while the node heartbeats, `down` once its heartbeat expired.
    var status: String
    /// Whether this node's agent holds the controller lease.
    var leader: Bool
    var eligible: Bool
    var draining: Bool
    var os: String
    var arch: String
    var hostname: String
    var meta: [String: String]
    var capacity: Resources
    /// What the instances it runs ask for.
    var allocated: Resources
    var devices: [NodeDevice]
    /// Instances by deployment key, from the node's last report.
    var instances: [String: Int]
    /// Containers of deployments the store does not know (it lost its data), which the
    /// node's agent keeps running untouched.
    var kept: [NodeReport.KeptContainer]
    var lastPass: Timestamp?

    enum CodingKeys: String, CodingKey {
        case id, address, status, leader, eligible, draining, os, arch, hostname, meta, capacity, allocated, devices, instances, kept
        case lastPass = "last_pass"
    }

    init(_ entry: NodeRegistry.Entry, leader: LeaderLease.Term?, report: NodeReport?, deployments: [DeploymentKey: Deployment], lastPass: Timestamp?) {
        let info = entry.info
        id = info.id
        address = info.address
        status = entry.ready ? "ready" : "down"
        self.leader = leader?.node == info.id
        eligible = info.eligible
        draining = info.draining
        os = info.os
        arch = info.arch
        hostname = info.hostname
        meta = info.meta
        capacity = Resources(cpuMillis: info.capacity.cpuMillis, memoryMB: info.capacity.memoryMB)
        devices = info.devices
        self.lastPass = lastPass
        var allocated = Resources(cpuMillis: 0, memoryMB: 0)
        var instances: [String: Int] = [:]
        for instance in report?.instances ?? [] where instance.container != nil && instance.phase != .complete {
            instances[instance.id.key.rawValue, default: 0] += 1
            let agent = deployments[instance.id.key]?.version(instance.version)?.manifest.agent(instance.id.agent)
            allocated.cpuMillis += agent?.resources.cpuMillis ?? 0
            allocated.memoryMB += agent?.resources.memoryMB ?? 0
        }
        self.allocated = allocated
        self.instances = instances
        kept = report?.kept ?? []
    }

    /// `ready`, `ready, leader`, `down, draining` …
    var state: String {
        ([status] + (leader ? ["leader"] : []) + (eligible ? [] : ["ineligible"]) + (draining ? ["draining"] : [])).joined(separator: ", ")
    }

    /// `2 gpu` (kinds and counts), or `-`.
    var deviceSummary: String {
        let kinds = Dictionary(grouping: devices, by: \.kind).map { "\($0.value.count) \($0.key)" }.sorted()
        return kinds.isEmpty ? "-" : kinds.joined(separator: ", ")
    }
}

extension DeploymentStore {
    /// Every registered node as `mnctl` shows it, by id.
    func nodeViews() async throws -> [NodeView] {
        let entries = try await NodeRegistry(redis: redis).entries()
        let leader = try await LeaderLease.holder(in: redis)
        let lastPasses = try await nodes()
        let deployments = Dictionary(try await self.deployments().map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var views: [NodeView] = []
        for entry in entries {
            views.append(
                NodeView(
                    entry, leader: leader, report: try await report(of: entry.info.id), deployments: deployments,
                    lastPass: lastPasses[entry.info.id]))
        }
        return views
    }
}
