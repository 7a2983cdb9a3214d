public import MNCore

/// The checks a version must pass on a node before anything of it starts (seed 003's
/// validation before traffic): its images are there, its host ports are free, and — for a
/// blue-green — it can run beside the version it replaces. Pure: what the node has is an input.
public enum Preflight {
    /// What the checks look at.
    public struct Input: Hashable, Sendable {
        /// The version running now, if any.
        public var from: Manifest?
        /// The version about to start.
        public var to: Manifest
        public var node: NodeID
        /// Images `to` runs that the node does not have.
        public var missingImages: Set<String>
        /// Host ports (`8080/tcp`) that other deployments publish on the node, with the deployment.
        public var portsInUse: [HostPort: DeploymentKey]
        /// Host ports `to` publishes that a process mn does not manage holds on the node.
        public var portsHeldOutsideMN: Set<HostPort>

        /// Creates an input.
        public init(
            from: Manifest?, to: Manifest, node: NodeID, missingImages: Set<String>, portsInUse: [HostPort: DeploymentKey],
            portsHeldOutsideMN: Set<HostPort> = []
        ) {
            self.from = from
            self.to = to
            self.node = node
            self.missingImages = missingImages
            self.portsInUse = portsInUse
            self.portsHeldOutsideMN = portsHeldOutsideMN
        }
    }

    /// Every problem, each a sentence that names the agent and the fix; empty when the version may start.
    public static func problems(_ input: Input) -> [String] {
        var problems: [String] = []
        for agent in input.to.agents {
            if case .image(let image) = agent.workload, input.missingImages.contains(image) {
                problems.append(
                    "agent '\(agent.id)': image '\(image)' is not on node \(input.node); mn does not pull images, so pull or build it "
                        + "there, then `mnctl deployment resume \(input.to.key)` to validate again")
            }
            for published in agent.hostPorts {
                if let holder = input.portsInUse[published] {
                    problems.append(
                        "agent '\(agent.id)' publishes host port \(published), which deployment '\(holder)' already uses on node \(input.node): "
                            + "choose a free host port")
                }
                if input.portsHeldOutsideMN.contains(published) {
                    problems.append(
                        "agent '\(agent.id)' publishes host port \(published), which a process mn does not manage holds on node \(input.node): "
                            + "stop it or choose a free host port")
                }
            }
        }
        if RolloutPlanner.strategy(from: input.from, to: input.to) == .blueGreen {
            problems += RolloutPlanner.sideBySideConflicts(from: input.from, to: input.to)
        }
        return problems
    }

    /// The host ports `manifest` publishes.
    public static func hostPorts(of manifest: Manifest) -> Set<HostPort> { Set(manifest.agents.flatMap(\.hostPorts)) }
}
