import MNCore

extension Placement {
    /// The nodes of one placement, sorted by id, with what is allocated on each so far.
    struct Nodes {
        private struct Node {
            let info: NodeInfo
            let isDown: Bool
            /// Its devices in the order they are handed out (numeric ids in numeric order).
            let devices: [NodeDevice]
            var cpuMillis = 0
            var memoryMB = 0
            var devicesHeld: Set<String> = []
            var portsHeld: Set<HostPort> = []
            var instances = 0
            var perAgent: [AgentKey: Int] = [:]
        }

        private struct AgentKey: Hashable {
            let key: DeploymentKey
            let agent: AgentID

            init(_ instance: InstanceID) {
                key = instance.key
                agent = instance.agent
            }
        }

        private var nodes: [Node]
        private let byID: [NodeID: Int]

        init(_ infos: [NodeInfo], down: Set<NodeID>) {
            // One entry per id; should the registry ever give two, the same one wins in any order.
            var unique: [NodeID: NodeInfo] = [:]
            for info in infos {
                if let other = unique[info.id], !CanonicalJSON.bytes(of: info).lexicographicallyPrecedes(CanonicalJSON.bytes(of: other)) {
                    continue
                }
                unique[info.id] = info
            }
            nodes = unique.values.sorted { $0.id < $1.id }.map { info in
                Node(
                    info: info, isDown: down.contains(info.id),
                    devices: info.devices.sorted { ($0.id.count, $0.id) < ($1.id.count, $1.id) })
            }
            byID = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.info.id, $0) })
        }

        var indices: Range<Int> { nodes.indices }

        func index(of id: NodeID) -> Int? { byID[id] }

        func id(_ node: Int) -> NodeID { nodes[node].info.id }

        func isDown(_ node: Int) -> Bool { nodes[node].isDown }

        /// Whether `node` meets every constraint of `request`.
        func meets(_ request: Request, on node: Int, checker: ConstraintChecker) -> Bool {
            request.constraints.allSatisfy { checker.unmet($0, on: nodes[node].info) == nil }
        }

        /// Counts `allocation` against its node (allocations on unknown nodes hold nothing).
        mutating func hold(_ allocation: Allocation) {
            guard let node = byID[allocation.node] else { return }
            nodes[node].cpuMillis += allocation.cpuMillis
            nodes[node].memoryMB += allocation.memoryMB
            nodes[node].devicesHeld.formUnion(allocation.devices)
            nodes[node].portsHeld.formUnion(allocation.hostPorts)
            nodes[node].instances += 1
            nodes[node].perAgent[AgentKey(allocation.instance), default: 0] += 1
        }

        /// Stops counting `allocation` (held before) against its node: it is replaced in place.
        mutating func release(_ allocation: Allocation) {
            guard let node = byID[allocation.node] else { return }
            nodes[node].cpuMillis -= allocation.cpuMillis
            nodes[node].memoryMB -= allocation.memoryMB
            nodes[node].devicesHeld.subtract(allocation.devices)
            nodes[node].portsHeld.subtract(allocation.hostPorts)
            nodes[node].instances -= 1
            nodes[node].perAgent[AgentKey(allocation.instance), default: 0] -= 1
        }

        /// Counts `request`, given `devices`, against `node`.
        mutating func hold(_ request: Request, devices: [String], on node: Int) {
            hold(
                Allocation(
                    instance: request.instance, specHash: request.specHash, node: nodes[node].info.id,
                    cpuMillis: request.resources.cpuMillis ?? 0, memoryMB: request.resources.memoryMB ?? 0, devices: devices,
                    hostPorts: request.hostPorts))
        }

        /// Why `request` cannot go on `node`.
        struct Misfit: Error {
            let text: String
        }

        /// How well `request` fits on `node`.
        struct Fit {
            let score: Score
            let devices: [String]
        }

        /// Whether `request` fits on `node`, counting `freed` (an instance it replaces there) as
        /// gone: its score and the devices it would get, or the first reason it does not fit.
        func fit(_ request: Request, on index: Int, freeing freed: Allocation?, checker: ConstraintChecker) -> Result<Fit, Misfit> {
            let node = nodes[index]
            if node.isDown { return .failure(Misfit(text: "down")) }
            if node.info.draining { return .failure(Misfit(text: "draining")) }
            if !node.info.eligible { return .failure(Misfit(text: "not eligible")) }
            for constraint in request.constraints {
                if let unmet = checker.unmet(constraint, on: node.info) { return .failure(Misfit(text: unmet)) }
            }

            let cpuUsed = node.cpuMillis - (freed?.cpuMillis ?? 0)
            let memoryUsed = node.memoryMB - (freed?.memoryMB ?? 0)
            let cpu = request.resources.cpuMillis ?? 0
            let memory = request.resources.memoryMB ?? 0
            let capacity = node.info.capacity
            if cpu > capacity.cpuMillis - cpuUsed {
                return .failure(Misfit(text: "cpu: \(max(0, capacity.cpuMillis - cpuUsed)) millicores free < \(cpu)"))
            }
            if memory > capacity.memoryMB - memoryUsed {
                return .failure(Misfit(text: "memory: \(max(0, capacity.memoryMB - memoryUsed)) MB free < \(memory) MB"))
            }

            var devicesHeld = node.devicesHeld
            if let freed { devicesHeld.subtract(freed.devices) }
            var given: [String] = []
            for wanted in request.resources.devices {
                let matching = node.devices.filter { $0.fits(wanted) }
                let free = matching.filter { !devicesHeld.contains($0.id) && !given.contains($0.id) }
                guard free.count >= wanted.count else {
                    return .failure(Misfit(text: Self.deviceShortage(wanted, matching: matching.count, free: free.count)))
                }
                given += free.prefix(wanted.count).map(\.id)
            }

            var portsHeld = node.portsHeld
            if let freed { portsHeld.subtract(freed.hostPorts) }
            if let taken = request.hostPorts.sorted().first(where: portsHeld.contains) {
                return .failure(Misfit(text: "port \(taken) in use"))
            }

            let load = max(
                Self.perMille(cpuUsed + cpu, of: capacity.cpuMillis), Self.perMille(memoryUsed + memory, of: capacity.memoryMB))
            let score = Score(
                sameAgent: node.perAgent[AgentKey(request.instance)] ?? 0, loadPerMille: load, instances: node.instances,
                node: node.info.id)
            return .success(Fit(score: score, devices: given.sorted { ($0.count, $0) < ($1.count, $1) }))
        }

        private static func perMille(_ used: Int, of capacity: Int) -> Int {
            capacity > 0 ? used * 1000 / capacity : (used > 0 ? Int.max : 0)
        }

        /// `no gpu`, `no gpu with driver cuda and 16000 MB`, `1 free gpu < 2`.
        private static func deviceShortage(_ wanted: DeviceRequest, matching: Int, free: Int) -> String {
            var qualifiers: [String] = []
            if let driver = wanted.driver { qualifiers.append("driver \(driver)") }
            if let memory = wanted.minMemoryMB { qualifiers.append("\(memory) MB") }
            let described = qualifiers.isEmpty ? wanted.kind : "\(wanted.kind) with \(qualifiers.joined(separator: " and "))"
            if matching == 0 { return "no \(described)" }
            return "\(free) free \(described) < \(wanted.count)"
        }
    }
}
