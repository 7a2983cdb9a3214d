import MNCore
import MNReconcile
import MNReconcileTestSupport
import PropertyBased
import Testing

/// A random cluster and a random set of instances to place on it.
struct PlacementScenario: Sendable, CustomStringConvertible {
    var input: Placement.Input
    /// Sort keys that give the same lists in another order.
    var order: [Int]

    /// `input` with its nodes, allocations and requests in another order.
    var shuffled: Placement.Input {
        func reorder<T>(_ items: [T], salt: Int) -> [T] {
            items.indices.sorted { (order[($0 + salt) % order.count], $0) < (order[($1 + salt) % order.count], $1) }.map { items[$0] }
        }
        var copy = input
        copy.nodes = reorder(input.nodes, salt: 0)
        copy.allocations = reorder(input.allocations, salt: 1)
        copy.requests = reorder(input.requests, salt: 2)
        return copy
    }

    var description: String {
        "nodes=\(input.nodes.map { "\($0.id)(\($0.capacity.cpuMillis)m,\($0.capacity.memoryMB)MB,\($0.devices.count)gpu,\($0.meta["rack"] ?? "-")\($0.eligible ? "" : ",ineligible")\($0.draining ? ",draining" : ""))" }) down=\(input.down.sorted()) allocations=\(input.allocations.count) requests=\(input.requests.map { "\($0.instance)" })"
    }
}

extension Gen where Value == PlacementScenario {
    /// Up to five nodes of mixed size, racks, GPUs and availability; up to three deployments
    /// of one or two agents asking for CPU, memory, GPUs, a host port or a rack.
    static var placementScenario: Generator<PlacementScenario, Shrink.None<PlacementScenario>> {
        Generator { rng in
            func pick<T>(_ items: [T]) -> T { items.randomElement(using: &rng)! }
            func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
            func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

            let nodes = (0..<int(0...5)).map { index in
                NodeInfo(
                    id: NodeID("n\(index)"), meta: chance(70) ? ["rack": pick(["r1", "r2"])] : [:],
                    capacity: NodeCapacity(cpuMillis: pick([1_000, 2_000, 4_000, 8_000]), memoryMB: pick([1_024, 4_096, 16_384])),
                    devices: (0..<pick([0, 0, 1, 2, 4])).map { NodeDevice(id: String($0), kind: "gpu", driver: "cuda", memoryMB: pick([16_000, 40_960])) },
                    eligible: chance(90), draining: chance(10))
            }
            let down = Set(nodes.map(\.id).filter { _ in chance(10) })
            var allocations: [Placement.Allocation] = []
            var requests: [Placement.Request] = []
            for key in ["alpha", "beta", "gamma"].prefix(int(1...3)) {
                for agent in ["api", "gpu"].prefix(int(1...2)) {
                    let resources = Resources(
                        cpuMillis: chance(70) ? pick([100, 500, 1_000, 2_500]) : nil, memoryMB: chance(70) ? pick([128, 1_024, 3_000]) : nil,
                        devices: agent == "gpu" && chance(80) ? [DeviceRequest(kind: "gpu", minMemoryMB: chance(30) ? 20_000 : nil, count: int(1...2))] : [])
                    let ports = chance(20) ? [HostPort(8000 + int(0...1))] : []
                    let constraints = chance(25) ? [PlacementConstraint(.meta("rack"), .equals(pick(["r1", "r2"])))] : []
                    let hash = SpecHash(String(repeating: pick(["a", "b"]), count: 64))
                    for index in 0..<int(1...6) {
                        let instance = InstanceID(key: DeploymentKey(key), agent: AgentID(agent), index: index)
                        if key == "gamma", let node = nodes.randomElement(using: &rng) {
                            // Another deployment already running somewhere.
                            allocations.append(
                                .init(
                                    instance: instance, specHash: hash, node: node.id, cpuMillis: resources.cpuMillis ?? 0,
                                    memoryMB: resources.memoryMB ?? 0))
                        } else {
                            requests.append(.init(instance: instance, specHash: hash, resources: resources, hostPorts: ports, constraints: constraints))
                        }
                    }
                }
            }
            let count = nodes.count + allocations.count + requests.count + 3
            return PlacementScenario(
                input: .init(nodes: nodes, down: down, allocations: allocations, requests: requests),
                order: (0..<count).map { _ in int(0...1_000) })
        }
    }
}

@Suite("Placement properties")
struct PlacementPropertyTests {
    @Test("never over capacity, devices or ports on any node; every placed instance is feasible where it went")
    func safety() async {
        await propertyCheck(count: 300, input: Gen.placementScenario) { scenario in
            let input = scenario.input
            let output = Placement.place(input)
            #expect(output.placed.count + output.unplaced.count == input.requests.count)
            let requests = Dictionary(input.requests.map { ($0.instance, $0) }, uniquingKeysWith: { a, _ in a })
            for node in input.nodes {
                let placed = output.placed.filter { $0.node == node.id }
                let held = input.allocations.filter { $0.node == node.id }
                let cpu = held.map(\.cpuMillis).reduce(0, +) + placed.map { requests[$0.instance]?.resources.cpuMillis ?? 0 }.reduce(0, +)
                let memory = held.map(\.memoryMB).reduce(0, +) + placed.map { requests[$0.instance]?.resources.memoryMB ?? 0 }.reduce(0, +)
                // Allocations alone may already be over (they are what runs); placing never adds to an overload.
                if !placed.filter({ requests[$0.instance]?.resources.cpuMillis ?? 0 > 0 }).isEmpty {
                    #expect(cpu <= node.capacity.cpuMillis, "cpu over capacity on \(node.id): \(scenario)")
                }
                if !placed.filter({ requests[$0.instance]?.resources.memoryMB ?? 0 > 0 }).isEmpty {
                    #expect(memory <= node.capacity.memoryMB, "memory over capacity on \(node.id): \(scenario)")
                }
                let devices = placed.flatMap(\.devices)
                #expect(Set(devices).count == devices.count, "a device given twice on \(node.id)")
                #expect(Set(devices).isSubset(of: node.devices.map(\.id)), "a device the node does not have")
                let ports = placed.flatMap { requests[$0.instance]?.hostPorts ?? [] }
                #expect(Set(ports).count == ports.count, "a host port given twice on \(node.id)")
                for instance in placed {
                    let sticky = requests[instance.instance]?.current?.node == node.id
                    #expect(sticky || (!input.down.contains(node.id) && node.eligible && !node.draining), "placed on an unavailable node")
                    for constraint in requests[instance.instance]?.constraints ?? [] {
                        if case .equals(let rack) = constraint.test { #expect(node.meta["rack"] == rack, "constraint not met") }
                    }
                }
            }
            // Unplaced means no node fits: every registered node is named with a reason.
            for unplaced in output.unplaced {
                #expect(unplaced.reasons.map(\.node) == input.nodes.map(\.id).sorted())
            }
        }
    }

    @Test("the same input in any order gives the same placement")
    func deterministic() async {
        await propertyCheck(count: 300, input: Gen.placementScenario) { scenario in
            #expect(Placement.place(scenario.input) == Placement.place(scenario.shuffled), "\(scenario)")
        }
    }

    @Test("a node joining moves nothing that runs; it only takes what could not be placed")
    func nodeJoins() async {
        await propertyCheck(count: 300, input: Gen.placementScenario) { scenario in
            var input = scenario.input
            let first = Placement.place(input)
            let placedAt = Dictionary(first.placed.map { ($0.instance, $0) }, uniquingKeysWith: { a, _ in a })
            for index in input.requests.indices {
                if let placed = placedAt[input.requests[index].instance] {
                    input.requests[index].current = .init(node: placed.node, devices: placed.devices)
                }
            }
            input.nodes.append(
                NodeInfo(
                    id: "n9", meta: ["rack": "r1"], capacity: NodeCapacity(cpuMillis: 64_000, memoryMB: 262_144),
                    devices: (0..<8).map { NodeDevice(id: String($0), kind: "gpu", driver: "cuda", memoryMB: 81_920) }))
            let second = Placement.place(input)
            for placed in second.placed {
                if let before = placedAt[placed.instance] { #expect(placed == before, "a running instance moved: \(scenario)") }
            }
            #expect(second.placed.count >= first.placed.count)
        }
    }
}
