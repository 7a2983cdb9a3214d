public import MNCore
public import MNReconcile
public import MNReconcileTestSupport
public import PropertyBased

/// A random node: what should run, what the runtime shows, what was remembered.
public struct Scenario: Sendable, CustomStringConvertible {
    public var desired: [DesiredInstance]
    public var observed: [ObservedContainer]
    public var records: [InstanceRecord]
    public var frozen: Set<DeploymentKey> = []
    public var now: Timestamp
    /// The same observed, desired and records lists in another order.
    public var shuffled: (desired: [DesiredInstance], observed: [ObservedContainer], records: [InstanceRecord])

    public var input: NodeReconciler.Input {
        .init(node: Fixture.node, desired: desired, observed: observed, records: records, frozen: frozen, now: now)
    }

    public var description: String {
        let containers = observed.map {
            "\($0.id.rawValue):\($0.instanceID?.description ?? "-"):\($0.specHash?.short.prefix(4) ?? "-"):\($0.state.rawValue)"
        }
        return "desired=\(desired.map { "\($0.id)#\($0.specHash.short.prefix(4))" }) observed=\(containers) records=\(records.count)"
    }
}

extension Gen where Value == Scenario {
    /// Scenarios over two deployment keys and two agents, with three spec variants per agent,
    /// so containers often match, often are stale and sometimes are duplicated.
    public static var scenario: Generator<Scenario, Shrink.None<Scenario>> {
        Generator { rng in
            func pick<T>(_ items: [T]) -> T { items.randomElement(using: &rng)! }
            func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
            func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

            let now = Timestamp(milliseconds: 10_000_000)
            var desired: [DesiredInstance] = []
            var observed: [ObservedContainer] = []
            var records: [InstanceRecord] = []
            var nextID = 0
            func newID() -> ContainerID {
                nextID += 1
                return ContainerID(String(int(0...0xFFF) * 4096 + nextID, radix: 16))
            }

            for key in ["alpha", "beta"].prefix(int(1...2)) {
                for agent in ["api", "worker"].prefix(int(1...2)) {
                    let variants = (1...3).map { n in
                        AgentSpec(
                            id: AgentID(agent), workload: .image("localhost/\(agent):\(n)"), env: ["N": String(n)],
                            lifecycle: Lifecycle(stopSignal: pick(["SIGTERM", "SIGINT"]), gracePeriodMs: pick([0, 2_000, 30_000])))
                    }
                    let isDesired = chance(80)
                    let count = int(1...3)
                    let chosen = pick(variants)
                    let delay = pick([0, 500, 1_000, 5_000])
                    let policy = RestartPolicy(
                        attempts: int(0...3), intervalMs: pick([2_000, 10_000, 600_000]), delayMs: delay,
                        delayFunction: pick(DelayFunction.allCases), maxDelayMs: delay + pick([0, 2_000, 20_000]),
                        mode: pick(RestartPolicy.Mode.allCases))
                    let jobType: Manifest.JobType = chance(80) ? .service : pick(Manifest.JobType.allCases)
                    for index in 0..<4 {
                        let instance =
                            isDesired && index < count
                            ? DesiredInstance(
                                key: DeploymentKey(key), spec: chosen, index: index, version: 2, restart: policy, jobType: jobType)
                            : nil
                        if let instance {
                            desired.append(instance)
                            if chance(50) {
                                var record = InstanceRecord(
                                    id: instance.id, specHash: chance(80) ? instance.specHash : pick(variants).specHash)
                                record.started = chance(70)
                                // Restarts near the edge of the interval make the count change while waiting.
                                record.restarts = (0..<int(0...4)).map { _ in now.adding(ms: -Int64(int(0...(policy.intervalMs + 2_000)))) }
                                record.downSince = chance(50) ? now.adding(ms: -Int64(int(0...60_000))) : nil
                                record.lastError = chance(20) ? "create: image not known" : nil
                                record.exhausted = chance(10)
                                records.append(record)
                            }
                        }
                        // Containers for this slot: some of the desired spec, some stale.
                        var namesUsed: Set<String> = []
                        for _ in 0..<pick([0, 0, 1, 1, 1, 2, 3]) {
                            let spec = pick(variants)
                            // Now and then a container another node's agent made: never to be touched here.
                            let start = StartContainer(
                                instance: DesiredInstance(key: DeploymentKey(key), spec: spec, index: index, version: 1),
                                node: chance(90) ? Fixture.node : "other-node")
                            let id = newID()
                            let ours = start.labels[ContainerLabel.node] == Fixture.node.rawValue
                            let name = ours && namesUsed.insert(start.name).inserted ? start.name : "\(start.name)-\(id.rawValue)"
                            let state = pick([ObservedContainer.State.running, .running, .exited, .exited, .created, .paused, .unknown])
                            observed.append(
                                ObservedContainer(
                                    id: id, name: name, labels: start.labels, state: state,
                                    exitCode: state == .exited ? pick([0, 1, 137]) : nil,
                                    startedAt: state == .created ? nil : now.adding(ms: -Int64(int(1_000...900_000))),
                                    finishedAt: state == .exited && chance(90) ? now.adding(ms: -Int64(int(0...60_000))) : nil,
                                    health: pick(ObservedContainer.Health.allCases)))
                        }
                    }
                }
            }
            for _ in 0..<int(0...2) {
                observed.append(ObservedContainer(id: newID(), name: "foreign-\(nextID)", labels: ["app": "other"], state: .running))
            }
            // Contradictory input: a second desired entry or record for the same instance.
            if chance(10), var twin = desired.randomElement(using: &rng) {
                twin.version += 1
                desired.append(twin)
            }
            // A rollout's surge: a second spec desired for an instance, beside the first.
            if chance(25), let first = desired.randomElement(using: &rng) {
                var spec = first.spec
                spec.env["SURGE"] = "1"
                desired.append(
                    DesiredInstance(
                        key: first.id.key, spec: spec, index: first.id.index, version: first.version + 1, restart: first.restart,
                        jobType: first.jobType))
            }
            if chance(10), var twin = records.randomElement(using: &rng) {
                twin.restarts.append(now.adding(ms: -1))
                records.append(twin)
            }
            if chance(10) {
                observed.append(
                    ObservedContainer(
                        id: newID(), name: "mn-partial",
                        labels: [ContainerLabel.deploymentKey: "alpha", ContainerLabel.node: Fixture.node.rawValue], state: .exited))
            }
            let frozen: Set<DeploymentKey> = chance(20) ? ["alpha"] : []
            return Scenario(
                desired: desired, observed: observed, records: records, frozen: frozen, now: now,
                shuffled: (desired.shuffled(using: &rng), observed.shuffled(using: &rng), records.shuffled(using: &rng)))
        }
    }
}
