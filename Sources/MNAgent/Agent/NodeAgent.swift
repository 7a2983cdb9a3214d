public import Logging
public import MNCore
import MNReconcile
public import ServiceLifecycle

/// The per-node agent: watches the desired state in Redis and reconciles this node's
/// containers toward it, pass after pass.
///
/// Level-based: every pass reads the whole desired state and everything the runtime
/// shows, so a lost notification, a Redis restart or an agent restart changes nothing but
/// latency. It wakes on a change notification, on a resubscribe after a reconnect, when
/// the runtime reports one of this node's containers changed, at the plan's `requeueAt`
/// or a health check's time, and at the periodic resync; it never polls faster than that.
public final class NodeAgent<Runtime: ContainerRuntime>: Service {
    public struct Settings: Sendable {
        public var node: NodeID
        /// The longest sleep between passes, for changes nothing announces (a container
        /// killed behind the agent's back).
        public var resyncIntervalMs: Int64
        /// Passes in a row while plans still act, before waiting for the next wake-up.
        public var maxPassesInARow: Int

        /// Creates settings.
        public init(node: NodeID, resyncIntervalMs: Int64 = 10_000, maxPassesInARow: Int = 4) {
            self.node = node
            self.resyncIntervalMs = resyncIntervalMs
            self.maxPassesInARow = maxPassesInARow
        }
    }

    private let store: DeploymentStore
    private let runtime: Runtime
    private let settings: Settings
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let health: HealthMonitor?
    private let state = AgentState()
    /// Fault injection for tests: runs after a pass acted, before it records anything; one
    /// that throws ends the pass there, as a crash (`kill -9`) between the two would.
    private let afterActing: (@Sendable (NodePlan) async throws -> Void)?

    /// Creates an agent; nothing runs until ``run()``. With a `prober`, the agent runs the
    /// agents' health checks itself, on their intervals.
    public convenience init(
        store: DeploymentStore, runtime: Runtime, settings: Settings, logger: Logger, prober: (any HealthProber)? = nil,
        notifier: SystemdNotifier = SystemdNotifier()
    ) {
        self.init(store: store, runtime: runtime, settings: settings, logger: logger, prober: prober, notifier: notifier, afterActing: nil)
    }

    init(
        store: DeploymentStore, runtime: Runtime, settings: Settings, logger: Logger, prober: (any HealthProber)?,
        notifier: SystemdNotifier, afterActing: (@Sendable (NodePlan) async throws -> Void)?
    ) {
        self.store = store
        self.runtime = runtime
        self.settings = settings
        self.logger = logger
        self.health = prober.map(HealthMonitor.init(prober:))
        self.notifier = notifier
        self.afterActing = afterActing
    }

    /// Watches and reconciles until cancelled or asked to shut down gracefully. Workloads keep
    /// running after it returns.
    public func run() async throws {
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let watch = Task { [store, logger] in
            for await event in RedisSubscriber.subscribe(url: store.redis.url, channels: [StoreKeys.changes]) {
                switch event {
                case .subscribed:
                    logger.debug("subscribed to \(StoreKeys.changes); resyncing")
                    trigger.yield()
                case .message(_, let payload):
                    // A change of another node's deployment is no reason for a pass here.
                    if await self.concerns(DeploymentKey(String(decoding: payload, as: UTF8.self))) { trigger.yield() }
                }
            }
        }
        defer { watch.cancel() }
        let containerWatch = Task { [runtime, settings] in
            for await _ in runtime.changes(on: settings.node) { trigger.yield() }
        }
        defer { containerWatch.cancel() }
        var alarm: Task<Void, Never>?
        defer { alarm?.cancel() }
        let watchdog = watchdogTask()
        defer { watchdog?.cancel() }
        trigger.yield()
        logger.info("mnagent watching", metadata: ["node": "\(settings.node)", "redis": "\(store.redis.url)"])

        for await _ in triggers.cancelOnGracefulShutdown() {
            let wake = await passes()
            alarm?.cancel()
            let sleepMs = max(1, wake.milliseconds(since: .now()))
            alarm = Task {
                try? await Task.sleep(for: .milliseconds(sleepMs))
                if !Task.isCancelled { trigger.yield() }
            }
        }
        logger.info("mnagent stopping; workloads keep running", metadata: ["node": "\(settings.node)"])
        notifier.notify(["STOPPING=1"])
    }

    /// Whether a change announced for deployment `key` can matter to this node: the last pass
    /// knew the key (it was desired here, or a container of it runs here), or the node's
    /// desired state names it now. When Redis cannot tell, it matters.
    func concerns(_ key: DeploymentKey) async -> Bool {
        if await state.knownKeys.contains(key) { return true }
        return (try? await store.isDesired(key, on: settings.node)) ?? true
    }

    /// Pings systemd's watchdog at half its interval, but only while passes keep finishing:
    /// a loop that hangs stops the pings, and systemd restarts the agent.
    private func watchdogTask() -> Task<Void, Never>? {
        guard let intervalMs = notifier.watchdogIntervalMs else { return nil }
        let staleAfterMs = max(intervalMs, 2 * settings.resyncIntervalMs + 30_000)
        return Task { [notifier, state] in
            while !Task.isCancelled {
                if let last = await state.lastPassAt, Timestamp.now().milliseconds(since: last) < staleAfterMs {
                    notifier.notify(["WATCHDOG=1"])
                }
                try? await Task.sleep(for: .milliseconds(max(1, intervalMs / 2)))
            }
        }
    }

    /// Runs passes while they act (bounded) and returns when to wake up next.
    func passes() async -> Timestamp {
        let resync = Timestamp.now().adding(ms: settings.resyncIntervalMs)
        for _ in 0..<settings.maxPassesInARow {
            do {
                guard let (plan, nextWake) = try await pass() else { return resync }
                if plan.actions.isEmpty { return [resync, plan.requeueAt, nextWake].compactMap { $0 }.min() ?? resync }
            } catch {
                logger.error("reconcile pass failed; retrying at the next wake-up", metadata: ["error": "\(error)"])
                notifier.notify(["STATUS=pass failed: \(error)"])
                return Timestamp.now().adding(ms: min(settings.resyncIntervalMs, 2_000))
            }
        }
        return resync
    }

    /// One pass: read, observe, decide (rollouts, then the node), act, check health, report,
    /// and record how each deployment stands. Returns the plan and the next time a health
    /// check or a rollout needs a look, or `nil` if it chose not to act.
    func pass() async throws -> (NodePlan, nextWake: Timestamp?)? {
        let desiredState = try await desiredState(now: .now(), lastStatuses: await state.lastStatuses)
        let desired = desiredState?.instances
        let observed = try await runtime.listManaged()
        guard let desired else {
            await state.passFinished(at: .now())
            try await store.passFinished(on: settings.node, at: .now())
            let mine = observed.filter { $0.labels[ContainerLabel.node] == settings.node.rawValue }
            if !mine.isEmpty {
                logger.warning(
                    "Redis holds no desired state for node \(settings.node); leaving its \(mine.count) containers alone until it does")
            }
            return nil
        }
        if await state.records == nil {
            do {
                await state.setRecords(try await store.report(of: settings.node)?.records ?? [])
            } catch let error as StoreError {
                logger.warning("the last report cannot be read (\(error)); restart history starts afresh")
                await state.setRecords([])
            }
        }
        let now = Timestamp.now()
        await state.setKnownKeys(
            Set(desired.map(\.id.key)).union(
                observed.compactMap { $0.labels[ContainerLabel.node] == settings.node.rawValue ? $0.instanceID?.key : nil }))
        let plan = NodeReconciler.reconcile(
            .init(
                node: settings.node, desired: desired, observed: observed, records: await state.records ?? [],
                frozen: desiredState?.frozen ?? [], now: now))
        // Intent before action: the rollout steps this plan takes are stored first, so that an
        // agent killed after acting resumes from them instead of undoing them.
        if !plan.actions.isEmpty { try await recordIntents(desiredState, now: now) }
        var (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        for outcome in outcomes { log(outcome) }
        try await afterActing?(executed)
        let nextCheck = await checkHealth(of: &executed, desired: desired, now: now)
        await state.setRecords(executed.records)
        await state.setLastStatuses(executed.instances)
        await state.passFinished(at: now)
        try await recordDeployments(desiredState, statuses: executed.instances, now: now)
        // The report is written when what it says changed (or Redis lost it); the pass time, every pass.
        let report = NodeReport(node: settings.node, at: now, instances: executed.instances, records: executed.records)
        let unchanged = await state.lastReport.map { $0.instances == report.instances && $0.records == report.records } ?? false
        if unchanged, try await store.hasReport(of: settings.node) {
            try await store.passFinished(on: settings.node, at: now)
        } else {
            try await store.write(report)
            await state.setLastReport(report)
        }
        let running = executed.instances.filter { $0.phase == .running }.count
        notifier.notify(["READY=1", "STATUS=\(running) of \(executed.instances.count) instances running"])
        return (executed, [nextCheck, desiredState?.requeueAt].compactMap { $0 }.min())
    }

    /// Runs the due health checks of running instances and records each one's health in
    /// `plan`; returns when the next check is due.
    private func checkHealth(of plan: inout NodePlan, desired: [DesiredInstance], now: Timestamp) async -> Timestamp? {
        guard let health else { return nil }
        // By slot: during a rollout one instance has an old and a new spec, each with its own checks.
        var checks: [InstanceSlot: [HealthCheck]] = [:]
        for instance in desired where !instance.spec.healthChecks.isEmpty {
            checks[instance.slot] = instance.spec.healthChecks
        }
        var running: [ContainerID: [HealthCheck]] = [:]
        for status in plan.instances where status.phase == .running {
            if let container = status.container, let slotChecks = checks[status.slot] {
                running[container] = slotChecks
            }
        }
        let (verdicts, next) = await health.update(running: running, now: now)
        for index in plan.instances.indices {
            if let container = plan.instances[index].container, let verdict = verdicts[container] {
                plan.instances[index].health = verdict
            }
        }
        return next
    }

    /// What this node should run: each deployment's decision, and what they add up to.
    struct DesiredState {
        /// One per deployment, by key.
        var decisions: [DeploymentPlanner.Decision] = []
        /// The records the decisions were made from, by key: a transition that would change
        /// nothing on them is not written (no Redis round trip for an unchanged deployment).
        var records: [DeploymentKey: Deployment] = [:]
        var instances: [DesiredInstance] { decisions.flatMap(\.instances) }
        /// Paused deployments, and those whose update failed: no actions.
        var frozen: Set<DeploymentKey> { Set(decisions.filter(\.frozen).map(\.key)) }
        /// When a rollout needs a look even if nothing changes.
        var requeueAt: Timestamp? { decisions.compactMap(\.requeueAt).min() }
    }

    /// The instances this node should run, or `nil` when Redis holds no desired state for it
    /// (a fresh or wiped Redis is no reason to stop anything). Any unreadable part fails the
    /// pass: a partial desired state would stop containers that should keep running. A version
    /// still Validating is checked here first; nothing of it starts unless it passes. The
    /// decisions themselves are ``MNReconcile/DeploymentPlanner``'s.
    func desiredState(now: Timestamp, lastStatuses: [InstanceStatus]) async throws -> DesiredState? {
        guard let versions = try await store.desiredVersions(on: settings.node) else { return nil }
        var deployments: [(deployment: Deployment, number: Int)] = []
        for (key, number) in versions.sorted(by: { $0.key < $1.key }) {
            guard let deployment = try await store.deployment(key), deployment.version(number) != nil else {
                throw StoreError("node \(settings.node) should run \(key) version \(number), which the store does not have")
            }
            deployments.append((deployment, number))
        }
        var result = DesiredState()
        for (deployment, number) in deployments {
            var failedValidation =
                deployment.status == .failed && deployment.failure?.phase == .validating && deployment.failure?.version == number
            if deployment.status == .validating && deployment.latest.number == number {
                let stable = deployment.stable(before: number)
                let others = deployments.filter { $0.deployment.key != deployment.key }.map(\.deployment)
                failedValidation = try await !validate(deployment, number: number, stable: stable, others: others, now: now)
            }
            result.records[deployment.key] = deployment
            result.decisions.append(
                DeploymentPlanner.decide(
                    deployment, version: number, failedValidation: failedValidation,
                    statuses: lastStatuses.filter { $0.id.key == deployment.key }, now: now))
        }
        return result
    }

    /// Runs the ``MNReconcile/Preflight`` checks for version `number` on this node and records
    /// the verdict: Deploying, or Failed in Validating with every problem. Returns whether it passed.
    private func validate(_ deployment: Deployment, number: Int, stable: DeploymentVersion?, others: [Deployment], now: Timestamp)
        async throws -> Bool
    {
        let target = deployment.version(number)!.manifest
        var missing: Set<String> = []
        for agent in target.agents {
            if case .image(let image) = agent.workload, !missing.contains(image), try await !runtime.imageExists(image) {
                missing.insert(image)
            }
        }
        var portsInUse: [HostPort: DeploymentKey] = [:]
        for other in others {
            for manifest in [other.latest.manifest, other.rollbackTarget.flatMap { other.version($0)?.manifest }].compactMap({ $0 }) {
                for port in Preflight.hostPorts(of: manifest) { portsInUse[port] = other.key }
            }
        }
        // A port no other version of this deployment publishes (those may be held by its own
        // containers) and no other deployment uses must not be held by anything else on the host.
        let own = Set(deployment.versions.filter { $0.number != number }.flatMap { Preflight.hostPorts(of: $0.manifest) })
        var held: Set<HostPort> = []
        for port in Preflight.hostPorts(of: target).subtracting(own) where portsInUse[port] == nil && !HostPorts.isFree(port) {
            held.insert(port)
        }
        let problems = Preflight.problems(
            .init(
                from: stable?.manifest, to: target, node: settings.node, missingImages: missing, portsInUse: portsInUse,
                portsHeldOutsideMN: held))
        let node = settings.node
        try await store.updateRecord(deployment.key) { record in
            DeploymentTransitions.validated(&record, version: number, problems: problems, node: node, at: now)
        }
        if !problems.isEmpty {
            logger.error(
                "version \(number) of \(deployment.key) failed validation; nothing of it starts", metadata: ["problems": "\(problems)"])
        }
        return problems.isEmpty
    }

    /// Records each deployment's standing after the node acted (``MNReconcile/DeploymentPlanner/record(_:statuses:in:at:)``),
    /// writing only what changed; a failed update with `auto_revert` is followed by its revert.
    private func recordDeployments(_ desired: DesiredState?, statuses: [InstanceStatus], now: Timestamp) async throws {
        for decision in desired?.decisions ?? [] where !decision.frozen {
            let mine = statuses.filter { $0.id.key == decision.key }
            if var known = desired?.records[decision.key], !DeploymentPlanner.record(decision, statuses: mine, in: &known, at: now) {
                continue  // nothing would change
            }
            let recorded = try await store.updateRecord(decision.key) { deployment in
                DeploymentPlanner.record(decision, statuses: mine, in: &deployment, at: now)
            }
            if recorded, let (version, reason) = DeploymentPlanner.failure(of: decision) {
                try await autoRevert(decision.key, failedVersion: version, reason: reason, at: now)
            }
        }
    }

    /// Stores the rollout step each update's decision takes, before the node acts on it.
    private func recordIntents(_ desired: DesiredState?, now: Timestamp) async throws {
        for decision in desired?.decisions ?? [] where !decision.frozen {
            guard case .rollout = decision.mode else { continue }
            if var known = desired?.records[decision.key], !DeploymentPlanner.intend(decision, in: &known, at: now) { continue }
            try await store.updateRecord(decision.key) { deployment in DeploymentPlanner.intend(decision, in: &deployment, at: now) }
        }
    }

    /// With `auto_revert`, a failed update is followed at once by a new version copied from the
    /// last stable one, skipping any canary phase (history is appended, never rewritten; a revert
    /// is never reverted again, so there is no loop).
    private func autoRevert(_ key: DeploymentKey, failedVersion: Int, reason: String, at now: Timestamp) async throws {
        guard let revert = try await store.revertAfterFailure(key, of: failedVersion, reason: reason, on: .current(orElse: settings.node), at: now) else {
            return
        }
        logger.warning(
            "update of \(key) to version \(failedVersion) failed (\(reason)); reverting to the last stable version as version \(revert)")
    }

    private func log(_ outcome: ActionOutcome) {
        let what: String
        switch outcome.action {
        case .start(let start): what = "start \(start.instance.id) as \(start.name)"
        case .restart(let restart):
            what = "restart \(restart.instance) (\(restart.container.rawValue.prefix(12)), attempt \(restart.attempt))"
        case .replace(let replace):
            what = "replace \(replace.new.instance.id): stop \(replace.old.container.rawValue.prefix(12)), start \(replace.new.name)"
        case .stop(let stop): what = "stop \(stop.container.rawValue.prefix(12)) (\(stop.reason.rawValue))"
        }
        if let error = outcome.error {
            logger.error("\(what) failed", metadata: ["error": "\(error)"])
        } else {
            logger.info("\(what)", metadata: outcome.created.map { ["container": "\($0.rawValue.prefix(12))"] } ?? [:])
        }
    }
}

/// The agent's memory between passes: the restart records, what the last pass saw, and
/// when a pass last finished.
actor AgentState {
    private(set) var records: [InstanceRecord]?
    private(set) var lastStatuses: [InstanceStatus] = []
    private(set) var lastPassAt: Timestamp?
    /// The deployments the last pass saw on this node (desired, or with containers here).
    private(set) var knownKeys: Set<DeploymentKey> = []
    func setKnownKeys(_ keys: Set<DeploymentKey>) { knownKeys = keys }
    /// The report last written, so an unchanged one is not written again.
    private(set) var lastReport: NodeReport?
    func setLastReport(_ report: NodeReport) { lastReport = report }
    func setRecords(_ records: [InstanceRecord]) { self.records = records }
    func setLastStatuses(_ statuses: [InstanceStatus]) { lastStatuses = statuses }
    func passFinished(at time: Timestamp) { lastPassAt = time }
}
