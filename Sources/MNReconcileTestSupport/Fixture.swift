public import MNCore
public import MNReconcile

/// Builders for reconciler inputs.
public enum Fixture {
    public static let t0 = Timestamp(milliseconds: 1_000_000)
    public static let node = NodeID("n1")

    public static func spec(
        _ agent: String = "web", image: String = "localhost/web:1", env: [String: String] = ["GREETING": "hello"],
        lifecycle: Lifecycle = .defaults
    ) -> AgentSpec {
        AgentSpec(id: AgentID(agent), workload: .image(image), env: env, lifecycle: lifecycle)
    }

    public static func desired(
        _ spec: AgentSpec = spec(), key: String = "shop", index: Int = 0, version: Int = 1,
        restart: RestartPolicy = .defaults, jobType: Manifest.JobType = .service
    ) -> DesiredInstance {
        DesiredInstance(key: DeploymentKey(key), spec: spec, index: index, version: version, restart: restart, jobType: jobType)
    }

    /// A container as mn would have created it for `instance`.
    public static func container(
        for instance: DesiredInstance, id: String, state: ObservedContainer.State = .running, exitCode: Int? = nil,
        startedAt: Timestamp? = Timestamp(milliseconds: 500_000), finishedAt: Timestamp? = nil, nameSuffix: String = ""
    ) -> ObservedContainer {
        let start = StartContainer(instance: instance, node: Fixture.node)
        return ObservedContainer(
            id: ContainerID(id), name: start.name + nameSuffix, labels: start.labels, state: state, exitCode: exitCode,
            startedAt: startedAt, finishedAt: finishedAt)
    }

    public static func policy(
        attempts: Int = 3, intervalMs: Int = 600_000, delayMs: Int = 1_000, function: DelayFunction = .exponential,
        maxDelayMs: Int = 30_000, mode: RestartPolicy.Mode = .fail
    ) -> RestartPolicy {
        RestartPolicy(
            attempts: attempts, intervalMs: intervalMs, delayMs: delayMs, delayFunction: function, maxDelayMs: maxDelayMs, mode: mode)
    }

    public static func reconcile(
        _ desired: [DesiredInstance], _ observed: [ObservedContainer], records: [InstanceRecord] = [], now: Timestamp = t0
    ) -> NodePlan {
        NodeReconciler.reconcile(.init(node: Fixture.node, desired: desired, observed: observed, records: records, now: now))
    }
}
