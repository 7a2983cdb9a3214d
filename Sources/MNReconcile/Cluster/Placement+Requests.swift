public import MNCore

extension Placement.Request {
    /// The request for desired instance `instance`: its spec's resources and host ports, the
    /// manifest's `constraints` followed by the agent's own.
    public init(_ instance: DesiredInstance, constraints: [PlacementConstraint], current: Current? = nil, replacing: SpecHash? = nil) {
        self.init(
            instance: instance.id, specHash: instance.specHash, resources: instance.spec.resources, hostPorts: instance.spec.hostPorts,
            constraints: constraints + instance.spec.constraints, current: current, replacing: replacing)
    }
}

extension Placement.Allocation {
    /// What instance `instance` of spec `spec` (slot hash `specHash`) holds on `node` with
    /// `devices`: the spec's CPU, memory and host ports.
    public init(_ instance: InstanceID, specHash: SpecHash, spec: AgentSpec, on node: NodeID, devices: [String]) {
        self.init(
            instance: instance, specHash: specHash, node: node, cpuMillis: spec.resources.cpuMillis ?? 0,
            memoryMB: spec.resources.memoryMB ?? 0, devices: devices, hostPorts: spec.hostPorts)
    }
}

extension Placement {
    /// The requests for `desired` (every deployment's instances to run now): each slot that runs
    /// keeps its node (`current`); a slot new to an instance replaces that instance's slot that
    /// runs (the one of the smallest spec hash, if several), so it goes beside or in place of it.
    /// `constraints` gives each deployment version's manifest-level constraints (and pin), by
    /// ``MNCore/DeploymentID``: an old version's instances keep the rules they were placed by.
    public static func requests(
        for desired: [DesiredInstance], constraints: [DeploymentID: [PlacementConstraint]], current: [InstanceSlot: Request.Current]
    ) -> [Request] {
        var runningSpec: [InstanceID: SpecHash] = [:]
        for slot in current.keys where runningSpec[slot.instance].map({ slot.specHash < $0 }) ?? true {
            runningSpec[slot.instance] = slot.specHash
        }
        return desired.map { instance in
            let now = current[instance.slot]
            let replacing = now == nil ? runningSpec[instance.id] : nil
            let version = DeploymentID(key: instance.id.key, version: instance.version)
            return Request(instance, constraints: constraints[version] ?? [], current: now, replacing: replacing)
        }
    }
}
