import MNCore
import MNReconcile
import MNReconcileTestSupport
import PropertyBased
import Testing

/// A random cluster with deployments to roll out and update on it.
struct ClusterScenario: Sendable, CustomStringConvertible {
    var nodes: [NodeInfo]
    /// Each deployment's first version, and the update applied once it runs.
    var deployments: [(first: Manifest, update: Manifest)]
    /// Sort keys that give the same lists in another order.
    var order: [Int]

    /// One of its nodes, chosen by the scenario (to lose, drain, …).
    var chosenNode: NodeID { nodes[order[0] % nodes.count].id }

    /// The first versions applied and settled (20 steps).
    func settled(at now: Timestamp) -> SimulatedCluster {
        var cluster = SimulatedCluster(nodes: nodes, now: now)
        for deployment in deployments { cluster.apply(deployment.first) }
        for _ in 0..<20 { cluster.step() }
        return cluster
    }

    func reorder<T>(_ items: [T], salt: Int) -> [T] {
        items.indices.sorted { (order[($0 + salt) % order.count], $0) < (order[($1 + salt) % order.count], $1) }.map { items[$0] }
    }

    var description: String {
        "nodes=\(nodes.map { "\($0.id)(\($0.capacity.cpuMillis)m)" }) deployments=\(deployments.map { "\($0.first.key)×\($0.first.agents[0].count) cpu \($0.first.agents[0].resources.cpuMillis ?? 0) max_parallel \($0.update.policies.update.maxParallel)" })"
    }
}

extension Gen where Value == ClusterScenario {
    /// Two to four nodes of mixed CPU; one to three deployments that fit the cluster, each
    /// with a rolling update of every instance.
    static var clusterScenario: Generator<ClusterScenario, Shrink.None<ClusterScenario>> {
        Generator { rng in
            func pick<T>(_ items: [T]) -> T { items.randomElement(using: &rng)! }
            func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
            let nodes = (0..<int(2...4)).map { index in
                NodeInfo(id: NodeID("n\(index)"), capacity: NodeCapacity(cpuMillis: pick([2_000, 4_000, 8_000]), memoryMB: 16_384))
            }
            var deployments: [(first: Manifest, update: Manifest)] = []
            for key in ["alpha", "beta", "gamma"].prefix(int(1...3)) {
                var policies = Policies.defaults
                policies.update.maxParallel = int(1...3)
                policies.update.minHealthyMs = 0
                let count = int(1...6)
                let cpu = pick([nil, 100])
                func manifest(_ image: String) -> Manifest {
                    Manifest(
                        key: DeploymentKey(key),
                        agents: [AgentSpec(id: "api", count: count, workload: .image(image), resources: Resources(cpuMillis: cpu, memoryMB: nil, devices: []))],
                        policies: policies)
                }
                deployments.append((manifest("\(key):1"), manifest("\(key):2")))
            }
            return ClusterScenario(nodes: nodes, deployments: deployments, order: (0..<12).map { _ in int(0...1_000) })
        }
    }
}

@Suite("Cluster reconciler properties")
struct ClusterReconcilerPropertyTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)

    /// Runs `scenario` to the end: first versions, then every update, `check` after every step.
    static func run(_ scenario: ClusterScenario, check: (SimulatedCluster) -> Void = { _ in }) -> SimulatedCluster {
        var cluster = SimulatedCluster(nodes: scenario.nodes, now: t0)
        for deployment in scenario.deployments { cluster.apply(deployment.first) }
        for phase in 0..<2 {
            if phase == 1 { for deployment in scenario.deployments { cluster.apply(deployment.update) } }
            for _ in 0..<80 {
                cluster.step()
                check(cluster)
                if cluster.deployments.values.allSatisfy({ $0.status == .running }) && phase == 0 { break }
            }
        }
        return cluster
    }

    @Test("every deployment ends Running its latest version with exactly count instances, no slot twice, never over a node's CPU")
    func converges() async {
        await propertyCheck(count: 60, input: Gen.clusterScenario) { scenario in
            let cpu = Dictionary(scenario.deployments.map { ($0.first.key, $0.first.agents[0].resources.cpuMillis ?? 0) }, uniquingKeysWith: { a, _ in a })
            let capacity = Dictionary(scenario.nodes.map { ($0.id, $0.capacity.cpuMillis) }, uniquingKeysWith: { a, _ in a })
            let cluster = Self.run(scenario) { cluster in
                for (node, assignment) in cluster.assignments {
                    let used = assignment.instances.map { cpu[$0.id.key] ?? 0 }.reduce(0, +)
                    #expect(used <= capacity[node] ?? 0, "node \(node) over its CPU: \(scenario)")
                }
                let slots = cluster.running.map(\.slot)
                #expect(Set(slots).count == slots.count, "a slot runs on two nodes: \(scenario)")
            }
            for (first, update) in scenario.deployments {
                let record = cluster.deployments[first.key]
                #expect(record?.status == .running && record?.latest.number == 2, "\(first.key) is \(record?.status.rawValue ?? "-"): \(scenario)")
                let hash = update.instanceHash(of: update.agents[0])
                let mine = cluster.running.filter { $0.slot.instance.key == first.key }
                #expect(mine.count == first.agents[0].count && mine.allSatisfy { $0.slot.specHash == hash }, "\(first.key): \(scenario)")
            }
        }
    }

    @Test("the same cluster, read in any order, gives the same decisions")
    func deterministic() async {
        await propertyCheck(count: 60, input: Gen.clusterScenario) { scenario in
            var checked = 0
            _ = Self.run(scenario) { cluster in
                guard checked < 10 else { return }
                checked += 1
                var shuffled = cluster.input
                shuffled.nodes = scenario.reorder(shuffled.nodes, salt: 0)
                shuffled.deployments = scenario.reorder(shuffled.deployments, salt: 1)
                shuffled.reports = shuffled.reports.mapValues { scenario.reorder($0, salt: 2) }
                #expect(ClusterReconciler.reconcile(cluster.input) == ClusterReconciler.reconcile(shuffled), "\(scenario)")
            }
        }
    }

    @Test("a node joining a settled cluster moves no running instance")
    func nodeJoins() async {
        await propertyCheck(count: 60, input: Gen.clusterScenario) { scenario in
            var cluster = scenario.settled(at: Self.t0)
            let before = cluster.running.map { "\($0.node) \($0.slot)" }
            cluster.nodes.append(NodeInfo(id: "n9", capacity: NodeCapacity(cpuMillis: 64_000, memoryMB: 262_144)))
            for _ in 0..<5 { cluster.step() }
            #expect(cluster.running.map { "\($0.node) \($0.slot)" } == before, "\(scenario)")
        }
    }
}

@Suite("Cluster reconciler properties: node loss")
struct ClusterNodeLossPropertyTests {
    @Test("a node lost for longer than the reschedule delay: count restored on the others (or the status says why not), never more than count + max_parallel of one agent, exactly count once it is back")
    func lossRestoresCount() async {
        await propertyCheck(count: 60, input: Gen.clusterScenario) { scenario in
            var cluster = scenario.settled(at: ClusterReconcilerPropertyTests.t0)
            let victim = scenario.chosenNode
            let updateDuringLoss = scenario.order[1] % 2 == 0
            cluster.cut(victim)
            func check(_ cluster: SimulatedCluster) {
                for (first, update) in scenario.deployments {
                    let up = Set(cluster.running.filter { cluster.down[$0.node] == nil && $0.slot.instance.key == first.key }.map(\.slot))
                    let limit = first.agents[0].count + update.policies.update.maxParallel
                    #expect(up.count <= limit, "\(first.key): \(up.count) running > count + max_parallel: \(scenario)")
                }
            }
            if updateDuringLoss { for deployment in scenario.deployments { cluster.apply(deployment.update) } }
            for _ in 0..<40 {
                cluster.step()
                check(cluster)
            }
            for (first, _) in scenario.deployments {
                let record = cluster.deployments[first.key]
                let up = Set(cluster.running.filter { cluster.down[$0.node] == nil && $0.slot.instance.key == first.key }.map(\.slot.instance))
                let waiting = record?.lost.contains { $0.reason?.contains("no node fits") == true } ?? false
                #expect(up.count == first.agents[0].count || waiting || record?.unplaced != nil, "\(first.key) not restored: \(up.count) running, lost \(record?.lost ?? []): \(scenario)")
            }
            cluster.restore(victim)
            for _ in 0..<40 {
                cluster.step()
                check(cluster)
            }
            for (first, _) in scenario.deployments {
                let mine = cluster.running.filter { $0.slot.instance.key == first.key }
                #expect(mine.count == first.agents[0].count, "\(first.key): \(mine.count) running once the node is back: \(scenario)")
                #expect(Set(mine.map(\.slot.instance)).count == mine.count, "an instance runs twice: \(scenario)")
                #expect(cluster.deployments[first.key]?.lost.isEmpty == true)
            }
        }
    }
}

/// Nodes joining, leaving (made ineligible), coming back and going down, one after another.
struct MembershipScenario: Sendable, CustomStringConvertible {
    enum Change: Sendable, CustomStringConvertible {
        case join(Int), ineligible(Int), eligible(Int), cut(Int), restore(Int)

        var description: String {
            switch self {
            case .join(let n): "join n\(n)"
            case .ineligible(let n): "ineligible n\(n)"
            case .eligible(let n): "eligible n\(n)"
            case .cut(let n): "cut n\(n)"
            case .restore(let n): "restore n\(n)"
            }
        }
    }

    var initial: Int
    var changes: [Change]
    var description: String { "\(initial) nodes, then \(changes)" }
}

extension Gen where Value == MembershipScenario {
    static var membership: Generator<MembershipScenario, Shrink.None<MembershipScenario>> {
        Generator { rng in
            let initial = Int.random(in: 1...4, using: &rng)
            var count = initial
            var changes: [MembershipScenario.Change] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let node = Int.random(in: 0..<count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0:
                    changes.append(.join(count))
                    count += 1
                case 1: changes.append(.ineligible(node))
                case 2: changes.append(.eligible(node))
                case 3: changes.append(.cut(node))
                default: changes.append(.restore(node))
                }
            }
            return MembershipScenario(initial: initial, changes: changes)
        }
    }
}

@Suite("Cluster reconciler properties: system jobs")
struct ClusterSystemJobPropertyTests {
    @Test("after any joins, leaves and losses: one system instance on every eligible node that is up, none on an ineligible one, indices unique, nothing restarted on a node that stayed")
    func onePerEligibleNode() async {
        await propertyCheck(count: 100, input: Gen.membership) { scenario in
            var cluster = SimulatedCluster(
                nodes: (0..<scenario.initial).map { ClusterReconcilerTests.node("n\($0)") }, now: ClusterReconcilerPropertyTests.t0)
            cluster.apply(ClusterSystemJobTests.system("agentd:1"))
            for _ in 0..<4 { cluster.step() }
            for change in scenario.changes {
                var before: [NodeID: [InstanceSlot: ContainerID]] = cluster.containers
                switch change {
                case .join(let n): cluster.nodes.append(ClusterReconcilerTests.node("n\(n)"))
                case .ineligible(let n): cluster.nodes[n].eligible = false
                case .eligible(let n): cluster.nodes[n].eligible = true
                case .cut(let n): cluster.cut(NodeID("n\(n)"))
                case .restore(let n): cluster.restore(NodeID("n\(n)"))
                }
                let touched: NodeID =
                    switch change {
                    case .join(let n), .ineligible(let n), .eligible(let n), .cut(let n), .restore(let n): NodeID("n\(n)")
                    }
                before[touched] = nil
                for _ in 0..<3 { cluster.step() }
                for node in cluster.nodes where cluster.down[node.id] == nil {
                    let here = cluster.containers[node.id] ?? [:]
                    #expect(here.count == (node.eligible ? 1 : 0), "\(node.id) runs \(here.count) after \(change): \(scenario)")
                }
                for (node, containers) in before where cluster.down[node] == nil && containers.count == 1 {
                    #expect(cluster.containers[node] == containers, "\(node)'s instance was replaced after \(change): \(scenario)")
                }
                let indices = cluster.assignments.values.flatMap(\.instances).map(\.id.index)
                #expect(Set(indices).count == indices.count, "an index on two nodes: \(scenario)")
            }
        }
    }
}

@Suite("Cluster reconciler properties: drains")
struct ClusterDrainPropertyTests {
    @Test("a drain never stops an instance before its copy elsewhere is healthy (the deadline far away), never runs more than count + max_parallel of one deployment, and ends with the count elsewhere or the status saying why")
    func healthyBeforeStop() async {
        await propertyCheck(count: 60, input: Gen.clusterScenario) { scenario in
            var cluster = scenario.settled(at: ClusterReconcilerPropertyTests.t0)
            let drained = scenario.chosenNode
            cluster.drain(drained, deadline: cluster.now.adding(ms: 3_600_000))
            for _ in 0..<40 {
                let before = cluster.running.filter { $0.node == drained }.map(\.slot)
                cluster.step()
                let after = Set(cluster.running.filter { $0.node == drained }.map(\.slot))
                let healthyElsewhere = Set(
                    cluster.reports.filter { $0.key != drained }.values.flatMap { $0 }
                        .filter { $0.phase == .running && $0.health == .healthy }.map(\.slot))
                for slot in before where !after.contains(slot) {
                    #expect(healthyElsewhere.contains(slot), "\(slot.instance) stopped on \(drained) before a healthy copy ran: \(scenario)")
                }
                for (first, update) in scenario.deployments {
                    let mine = cluster.running.filter { $0.slot.instance.key == first.key }.count
                    #expect(mine <= first.agents[0].count + update.policies.update.maxParallel, "\(first.key): \(mine) running: \(scenario)")
                }
            }
            for (first, _) in scenario.deployments {
                let onDrained = cluster.running.filter { $0.node == drained && $0.slot.instance.key == first.key }.count
                #expect(onDrained == 0 || cluster.deployments[first.key]?.unplaced != nil, "\(first.key) still on \(drained) with no reason: \(scenario)")
            }
        }
    }
}
