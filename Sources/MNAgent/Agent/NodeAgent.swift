public import Logging
public import MNCore
import MNReconcile
public import ServiceLifecycle
import Synchronization

/// The per-node agent: reconciles this node's containers toward what the controller assigned
/// it, pass after pass, checks versions it is asked to check, and reports. While its
/// ``ControllerRole`` holds the lease, each pass first runs the cluster controller.
///
/// Level-based: every pass reads the whole assignment and everything the runtime shows, so a
/// lost notification, a Redis restart or an agent restart changes nothing but latency. It
/// wakes when its assignment changes (and, leading, on any deployment change or node report),
/// on a resubscribe after a reconnect, when the runtime reports one of this node's containers
/// changed, at the plan's `requeueAt` or a health check's time, and at the periodic resync;
/// it never polls faster than that.
public final class NodeAgent<Runtime: ContainerRuntime>: Service {
    public struct Settings: Sendable {
        public var node: NodeID
        /// The longest sleep between passes, for changes nothing announces (a container
        /// killed behind the agent's back).
        public var resyncIntervalMs: Int64
        /// Passes in a row while plans still act, before waiting for the next wake-up.
        public var maxPassesInARow: Int
        /// Where the node writes bundle payloads (one folder per set) that containers mount.
        public var payloadDirectory: String

        /// Creates settings.
        public init(
            node: NodeID, resyncIntervalMs: Int64 = 10_000, maxPassesInARow: Int = 4, payloadDirectory: String = "/var/lib/mn/payloads"
        ) {
            self.node = node
            self.resyncIntervalMs = resyncIntervalMs
            self.maxPassesInARow = maxPassesInARow
            self.payloadDirectory = payloadDirectory
        }
    }

    /// The cluster controller this agent runs while its term holds the lease.
    public struct ControllerRole: Sendable {
        public var controller: ClusterController
        /// The term held now, if any.
        public var term: @Sendable () -> LeaderLease.Term?
        /// Each new term (and `nil` when it ends), to run a pass at once.
        public var changes: AsyncStream<LeaderLease.Term?>?

        /// A role following `election`.
        public init(controller: ClusterController, election: LeaderElection) {
            self.controller = controller
            self.term = { election.term }
            self.changes = election.changes
        }

        /// A role whose term is given by `term` (tests).
        public init(controller: ClusterController, term: @escaping @Sendable () -> LeaderLease.Term?) {
            self.controller = controller
            self.term = term
            self.changes = nil
        }
    }

    private let store: DeploymentStore
    private let runtime: Runtime
    private let controller: ControllerRole?
    private let settings: Settings
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let health: HealthMonitor?
    private let state = AgentState()
    /// Whether a requirement of an instance here (`requires_services`) is unmet, so that
    /// nodes' reports wake this node's pass.
    private let waitsForServices = Atomic<Bool>(false)
    /// Whether the store's notifications reach this agent (``run()`` is subscribed), so that a
    /// desired state read earlier is known current until one says this node's assignment changed.
    private let watching = Atomic<Bool>(false)
    /// Set when this node's assignment changed (`mn:assigned`) or the subscription (re)started;
    /// cleared by the pass that reads the assignment again.
    private let assignmentChanged = Atomic<Bool>(true)
    /// Fault injection for tests: runs after a pass acted, before it records anything; one
    /// that throws ends the pass there, as a crash (`kill -9`) between the two would.
    private let afterActing: (@Sendable (NodePlan) async throws -> Void)?

    /// Creates an agent; nothing runs until ``run()``. With a `prober`, the agent runs the
    /// agents' health checks itself, on their intervals.
    public convenience init(
        store: DeploymentStore, runtime: Runtime, settings: Settings, logger: Logger, prober: (any HealthProber)? = nil,
        controller: ControllerRole? = nil, notifier: SystemdNotifier = SystemdNotifier()
    ) {
        self.init(
            store: store, runtime: runtime, settings: settings, logger: logger, prober: prober, controller: controller, notifier: notifier,
            afterActing: nil)
    }

    init(
        store: DeploymentStore, runtime: Runtime, settings: Settings, logger: Logger, prober: (any HealthProber)?,
        controller: ControllerRole?, notifier: SystemdNotifier, afterActing: (@Sendable (NodePlan) async throws -> Void)?
    ) {
        self.store = store
        self.runtime = runtime
        self.controller = controller
        self.settings = settings
        self.logger = logger
        self.health = prober.map(HealthMonitor.init(prober:))
        self.notifier = notifier
        self.afterActing = afterActing
    }

    /// Watches and reconciles until cancelled or asked to shut down gracefully. Workloads keep
    /// running after it returns.
    public func run() async throws {
        // Two loops: this node's passes, and (while this agent leads) the controller's, so that
        // neither waits for the other's slow work (a stop's grace period, a big cluster pass).
        let (triggers, trigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (controllerTriggers, controllerTrigger) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let channels = [StoreKeys.assigned, StoreKeys.reported] + (controller == nil ? [] : [StoreKeys.changes])
        let watch = Task { [store, logger] in
            for await event in RedisSubscriber.subscribe(url: store.redis.url, channels: channels) {
                switch event {
                case .subscribed:
                    logger.debug("subscribed to \(channels.joined(separator: ", ")); resyncing")
                    self.subscribed()
                    trigger.yield()
                    controllerTrigger.yield()
                case .message(let channel, let payload):
                    let wakes = self.wakes(channel: channel, payload: String(decoding: payload, as: UTF8.self))
                    if channel == StoreKeys.assigned, wakes.node { self.assignmentWasChanged() }
                    if wakes.node { trigger.yield() }
                    if wakes.controller { controllerTrigger.yield() }
                }
            }
        }
        defer {
            watch.cancel()
            watching.store(false, ordering: .relaxed)
        }
        let leadership = Task {
            guard let changes = controller?.changes else { return }
            for await _ in changes { controllerTrigger.yield() }
        }
        defer { leadership.cancel() }
        let controllerLoop = Task { await self.controllerLoop(controllerTriggers, trigger: controllerTrigger) }
        defer { controllerLoop.cancel() }
        let containerWatch = Task { [runtime, settings] in
            for await _ in runtime.changes(on: settings.node) { trigger.yield() }
        }
        defer { containerWatch.cancel() }
        var alarm: Task<Void, Never>?
        defer { alarm?.cancel() }
        let watchdog = watchdogTask()
        defer { watchdog?.cancel() }
        trigger.yield()
        controllerTrigger.yield()
        logger.info("mnagent watching", metadata: ["node": "\(settings.node)", "redis": "\(store.redis.url)"])

        for await _ in triggers.cancelOnGracefulShutdown() {
            let wake = await passes()
            alarm?.cancel()
            alarm = Self.alarm(at: wake, trigger)
        }
        logger.info("mnagent stopping; workloads keep running", metadata: ["node": "\(settings.node)"])
        notifier.notify(["STOPPING=1"])
    }

    /// Runs the controller's passes on each trigger while this agent leads, and again when the
    /// last one asked to (or at the resync).
    private func controllerLoop(_ triggers: AsyncStream<Void>, trigger: AsyncStream<Void>.Continuation) async {
        guard controller != nil else { return }
        var alarm: Task<Void, Never>?
        defer { alarm?.cancel() }
        for await _ in triggers {
            let resync = Timestamp.now().adding(ms: settings.resyncIntervalMs)
            let wake = [resync, await controllerPass()].compactMap { $0 }.min() ?? resync
            alarm?.cancel()
            alarm = Self.alarm(at: wake, trigger)
        }
    }

    /// A task that yields to `trigger` at `time` unless cancelled first.
    private static func alarm(at time: Timestamp, _ trigger: AsyncStream<Void>.Continuation) -> Task<Void, Never> {
        let sleepMs = max(1, time.milliseconds(since: .now()))
        return Task {
            try? await Task.sleep(for: .milliseconds(sleepMs))
            if !Task.isCancelled { trigger.yield() }
        }
    }

    /// Which passes a message on `channel` is a reason for: this node's when its assignment
    /// changed, or when any node (this one too: a service it runs may be the one awaited)
    /// reported while an instance here waits on services (`requires_services`); the
    /// controller's, while this agent leads, when a deployment or a node's report changed.
    func wakes(channel: String, payload: String) -> (node: Bool, controller: Bool) {
        switch channel {
        case StoreKeys.assigned: (payload == settings.node.rawValue, false)
        case StoreKeys.reported: (waitsForServices.load(ordering: .relaxed), controller?.term() != nil)
        default: (false, controller?.term() != nil)
        }
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

    /// Runs this node's passes while they act (bounded) and returns when to wake up next.
    func passes() async -> Timestamp {
        let resync = Timestamp.now().adding(ms: settings.resyncIntervalMs)
        for _ in 0..<settings.maxPassesInARow {
            do {
                guard let (plan, nextWake) = try await nodePass() else { return resync }
                if plan.actions.isEmpty { return [resync, plan.requeueAt, nextWake].compactMap { $0 }.min() ?? resync }
            } catch {
                logger.error("reconcile pass failed; retrying at the next wake-up", metadata: ["error": "\(error)"])
                notifier.notify(["STATUS=pass failed: \(error)"])
                return Timestamp.now().adding(ms: min(settings.resyncIntervalMs, 2_000))
            }
        }
        return resync
    }

    /// One pass of each: the controller's (while leading), then this node's, for tests and
    /// benchmarks that drive an agent pass by pass (``run()`` runs them in loops of their own).
    /// Returns the node's plan and the next time a health check or the controller needs a
    /// look, or `nil` if the node has no assignment.
    public func pass() async throws -> (NodePlan, nextWake: Timestamp?)? {
        let controllerWake = await controllerPass()
        guard let (plan, nextWake) = try await nodePass() else { return nil }
        return (plan, [nextWake, controllerWake].compactMap { $0 }.min())
    }

    /// This node's pass: read the assignment, check the versions it asks to check, observe,
    /// decide, act, check health, and report. Returns the plan and when the next health check
    /// is due, or `nil` if the node has no assignment (it leaves its containers alone).
    func nodePass() async throws -> (NodePlan, nextWake: Timestamp?)? {
        let desiredState = try await currentDesiredState()
        let observed = try await runtime.listManaged()
        guard let desiredState else {
            // No assignment: a new node, or a store that lost its data. Nothing is acted on; the
            // containers of deployments the store does not know are reported as kept.
            let now = Timestamp.now()
            let kept = try await keptContainers(observed: observed, desired: [], frozen: [])
            await state.passFinished(at: now)
            if kept.isEmpty, await state.lastReport == nil {
                try await store.passFinished(on: settings.node, at: now)  // a new node: nothing to report yet
            } else {
                try await publish(NodeReport(node: settings.node, at: now, instances: [], records: await state.records ?? [], kept: kept))
            }
            let waiting = observed.filter { $0.isManaged(by: settings.node) }.count - kept.count
            if waiting > 0 {
                logger.warning(
                    "the controller assigned nothing to node \(settings.node) yet; leaving its \(waiting) containers alone until it does")
            }
            return nil
        }
        try await runChecks(desiredState, observed: observed)
        let desired = desiredState.instances
        if await state.records == nil {
            do {
                await state.setRecords(try await store.report(of: settings.node)?.records ?? [])
            } catch let error as StoreError {
                logger.warning("the last report cannot be read (\(error)); restart history starts afresh")
                await state.setRecords([])
            }
        }
        let services = try await serviceAvailability(for: desired)
        let kept = try await keptContainers(observed: observed, desired: desired, frozen: desiredState.frozen)
        let now = Timestamp.now()
        let wasDraining = await state.draining
        var plan = NodeReconciler.reconcile(
            .init(
                node: settings.node, desired: desired, observed: observed, records: await state.records ?? [],
                frozen: desiredState.frozen.union(kept.map(\.deployment)), now: now, draining: wasDraining, services: services))
        plan.actions = await withPayloads(plan.actions)
        var (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        for outcome in outcomes { log(outcome) }
        try await afterActing?(executed)
        Self.recordPorts(in: &executed, observed: observed)
        let nextCheck = await checkHealth(of: &executed, desired: desired, now: now)
        await state.setRecords(executed.records)
        await state.passFinished(at: now)
        // A drain that begins in this pass begins when the report that leaves the container out
        // of discovery is written, not when the pass began: acting and health checks in between
        // can take long on a busy host, and the shutdown delay is what clients get to move away.
        let reportTime = Timestamp.now()
        let drains = Dictionary(uniqueKeysWithValues: plan.draining.keys.map { ($0, wasDraining[$0] ?? reportTime) })
        // The report is written when what it says changed (or Redis lost it); the pass time, once per resync.
        let draining = drains.sorted { $0.key < $1.key }.map { container, since in
            NodeReport.DrainingContainer(container: container, instance: observed.first { $0.id == container }?.instanceID, since: since)
        }
        // A failed stop leaves its container running until a later pass stops it: reported, so
        // that nothing (mnctl node drain --wait) takes the node for empty meanwhile.
        let stopping = outcomes.compactMap { outcome -> NodeReport.DrainingContainer? in
            guard case .stop(let stop) = outcome.action, !outcome.succeeded else { return nil }
            return NodeReport.DrainingContainer(container: stop.container, instance: observed.first { $0.id == stop.container }?.instanceID, since: now)
        }.sorted { $0.container < $1.container }
        let report = NodeReport(
            node: settings.node, at: now, instances: executed.instances, records: executed.records,
            services: ServiceEntry.entries(of: executed.instances, desired: desired), draining: draining,
            notes: services.map { Self.notes(on: desired, services: $0) } ?? [], kept: kept, stopping: stopping)
        try await publish(report)
        // Only a written report starts a drain's clock: if it failed, the next pass begins it anew.
        for container in drains.keys.sorted() where wasDraining[container] == nil {
            logger.info("draining \(container.rawValue.prefix(12)): out of discovery until its shutdown delay has passed, then stopped")
        }
        await state.setDraining(drains)
        let running = executed.instances.filter { $0.phase == .running }.count
        notifier.notify(["READY=1", "STATUS=\(running) of \(executed.instances.count) instances running"])
        return (executed, nextCheck)
    }

    /// The services that pass in the cluster, read only when an instance here requires some
    /// (`requires_services`); whether one is unmet decides if nodes' reports wake a pass.
    private func serviceAvailability(for desired: [DesiredInstance]) async throws -> ServiceAvailability? {
        let requiring = desired.filter { !$0.spec.requiresServices.isEmpty }
        guard !requiring.isEmpty else {
            waitsForServices.store(false, ordering: .relaxed)
            return nil
        }
        let catalog = try await ServiceCatalog.read(from: store)
        let availability = ServiceAvailability(
            passing: catalog.instances.filter { $0.deploymentRole == .primary && $0.status == "passing" }.map { ($0.service, $0.tags) })
        waitsForServices.store(requiring.contains { $0.spec.requiresServices.contains { !availability.isMet($0) } }, ordering: .relaxed)
        return availability
    }

    /// Writes `report` when what it says changed since the last one; else, about once per
    /// resync interval, the time of its pass (and the report again if Redis lost it). A pass
    /// that changed nothing between those writes nothing.
    private func publish(_ report: NodeReport) async throws {
        let unchanged =
            await state.lastReport.map {
                $0.instances == report.instances && $0.records == report.records && $0.services == report.services
                    && $0.draining == report.draining && $0.notes == report.notes && $0.kept == report.kept
                    && $0.stopping.map(\.container) == report.stopping.map(\.container)
            } ?? false
        if unchanged {
            if let written = await state.passTimeWrittenAt, !isResyncDue(since: written, at: report.at) { return }
            if try await store.hasReport(of: settings.node) {
                try await store.passFinished(on: settings.node, at: report.at)
                await state.passTimeWritten(at: report.at)
                return
            }
        }
        try await store.write(report)
        await state.setLastReport(report)
        await state.passTimeWritten(at: report.at)
    }

    /// Whether what was read or written at `time` is due again at `now`: 90 % of the resync
    /// interval has passed (so the resync pass itself, woken a little after, does it).
    private func isResyncDue(since time: Timestamp, at now: Timestamp) -> Bool {
        now.milliseconds(since: time) >= settings.resyncIntervalMs * 9 / 10
    }

    /// The run loop subscribed (again): notifications reach this agent from now on, and any
    /// missed meanwhile are made up for by reading the assignment at the next pass.
    func subscribed() {
        assignmentChanged.store(true, ordering: .sequentiallyConsistent)
        watching.store(true, ordering: .sequentiallyConsistent)
    }

    /// A notification said this node's assignment changed.
    func assignmentWasChanged() { assignmentChanged.store(true, ordering: .sequentiallyConsistent) }

    /// The desired state: the one read last while it is known current (the store's
    /// notifications reach this agent, none said the assignment changed since, and the resync
    /// is not due), else read from the store. An idle pass (a health check's) reads nothing.
    func currentDesiredState() async throws -> DesiredState? {
        let now = Timestamp.now()
        let changed = assignmentChanged.exchange(false, ordering: .sequentiallyConsistent)
        if !changed, watching.load(ordering: .sequentiallyConsistent), let cached = await state.desired,
            !isResyncDue(since: cached.readAt, at: now)
        {
            return cached.state
        }
        do {
            let fresh = try await desiredState()
            await state.setDesired(fresh, readAt: now)
            return fresh
        } catch {
            assignmentChanged.store(true, ordering: .sequentiallyConsistent)
            throw error
        }
    }

    /// This node's containers of deployments the store does not know: Redis lost its data (or
    /// another store's agent made them). They are never stopped for it — an emptied store must
    /// not empty the hosts — and stay until an operator applies their manifests again (the
    /// agent then adopts those of the same spec) or removes them. Read only when a container
    /// belongs to a deployment this node's assignment does not name, so an idle pass costs nothing.
    private func keptContainers(
        observed: [ObservedContainer], desired: [DesiredInstance], frozen: Set<DeploymentKey>
    ) async throws -> [NodeReport.KeptContainer] {
        let assigned = frozen.union(desired.map(\.id.key))
        let strays = observed.compactMap { container -> (ObservedContainer, DeploymentKey)? in
            guard container.isManaged(by: settings.node), let key = container.deploymentKey, !assigned.contains(key) else { return nil }
            return (container, key)
        }
        guard !strays.isEmpty else { return [] }
        let unknown = try await store.unknownDeployments(Set(strays.map(\.1)))
        let kept = strays.filter { unknown.contains($0.1) }.map { container, key in
            NodeReport.KeptContainer(container: container.id, deployment: key, instance: container.instanceID)
        }.sorted { $0.container < $1.container }
        if await state.lastReport?.kept != kept, !kept.isEmpty {
            logger.warning(
                "the store does not know deployment(s) \(Set(kept.map(\.deployment)).sorted().map(\.rawValue).joined(separator: ", ")) of \(kept.count) container(s) here (was Redis emptied?); they keep running, untouched, until their manifests are applied again or they are removed")
        }
        return kept
    }

    /// A note for each instance that started without an optional service it names (`required: false`).
    static func notes(on desired: [DesiredInstance], services: ServiceAvailability) -> [NodeReport.InstanceNote] {
        desired.compactMap { instance in
            let optional = services.unmet(by: instance.spec).optional
            guard !optional.isEmpty else { return nil }
            return NodeReport.InstanceNote(
                instance: instance.id,
                note: "started without \(ServiceAvailability.describe(optional)) (not required): no passing instance")
        }.sorted { $0.instance < $1.instance }
    }

    /// Fills in the ports each instance's container publishes (dynamic ones as the runtime
    /// picked them). A status names only containers this pass observed.
    private static func recordPorts(in plan: inout NodePlan, observed: [ObservedContainer]) {
        var ports: [ContainerID: [PublishedPort]] = [:]
        for container in observed where !container.ports.isEmpty { ports[container.id] = container.ports }
        guard !ports.isEmpty else { return }
        for index in plan.instances.indices {
            plan.instances[index].ports = plan.instances[index].container.flatMap { ports[$0] } ?? []
        }
    }

    /// `actions` with each new container's payload folder written and named. A folder that
    /// cannot be written is logged and left out: that create fails, saying why, and the
    /// instance's restart policy applies.
    private func withPayloads(_ actions: [NodeAction]) async -> [NodeAction] {
        guard actions.contains(where: { $0.start?.instance.payloads.isEmpty == false }) else { return actions }
        let payloads = PayloadStore(redis: store.redis)
        var result: [NodeAction] = []
        for action in actions {
            guard var start = action.start, !start.instance.payloads.isEmpty else {
                result.append(action)
                continue
            }
            do {
                start.payloadDirectory = try await payloads.materialize(start.instance.payloads, under: settings.payloadDirectory)
            } catch {
                logger.error("\(start.instance.id): payloads not written: \(error)")
            }
            result.append(action.replacingStart(with: start))
        }
        return result
    }

    /// Runs the controller's pass while this agent's term holds the lease; returns when it
    /// needs to run again. Its failures are logged: they never keep the node from its own pass.
    private func controllerPass() async -> Timestamp? {
        guard let controller, let term = controller.term() else { return nil }
        do {
            return try await controller.controller.pass(under: term, at: .now())
        } catch let fenced as LeaderLease.Fenced {
            logger.warning("\(fenced)")
        } catch {
            logger.error("controller pass failed; retrying soon", metadata: ["error": "\(error)"])
            return Timestamp.now().adding(ms: min(settings.resyncIntervalMs, 2_000))
        }
        return nil
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

    typealias DesiredState = NodeDesiredState

    /// The instances this node should run, or `nil` when the controller never assigned it
    /// anything (a fresh or wiped Redis is no reason to stop anything). Any unreadable part
    /// fails the pass: a partial desired state would stop containers that should keep running.
    func desiredState() async throws -> DesiredState? {
        guard let assignment = try await store.assignment(of: settings.node) else { return nil }
        var manifests: [DeploymentID: Manifest] = [:]
        for (key, numbers) in assignment.versions {
            for number in numbers {
                guard let version = try await store.version(key, number, origin: assignment.origins[key]) else {
                    throw StoreError("node \(settings.node) is assigned \(key) version \(number), which the store does not have")
                }
                manifests[DeploymentID(key: key, version: number)] = version.manifest
            }
        }
        let (instances, missing) = assignment.desiredInstances(manifests: manifests)
        if let first = missing.first {
            throw StoreError("node \(settings.node) is assigned \(first), whose version has no agent '\(first.agent)'")
        }
        return DesiredState(instances: instances, frozen: Set(assignment.frozen), checks: assignment.checks, manifests: manifests)
    }

    /// Checks each version the assignment asks about that this node has not given its verdict
    /// on (``MNReconcile/Preflight``: images present, host ports free) and stores the verdict.
    private func runChecks(_ desired: DesiredState, observed: [ObservedContainer]) async throws {
        for check in desired.checks {
            if let given = try await store.verdict(on: check.key, of: settings.node), given.version == check.version { continue }
            guard let target = desired.manifests[DeploymentID(key: check.key, version: check.version)] else { continue }
            let stable = check.stable.flatMap { desired.manifests[DeploymentID(key: check.key, version: $0)] }
            let problems = try await preflight(target, stable: stable, desired: desired, observed: observed)
            try await store.write(ValidationVerdict(version: check.version, problems: problems), on: check.key, of: settings.node)
            if problems.isEmpty {
                logger.info("version \(check.version) of \(check.key) passed its checks on this node")
            } else {
                logger.error("version \(check.version) of \(check.key) failed its checks on this node", metadata: ["problems": "\(problems)"])
            }
        }
    }

    /// The problems version `target` of a deployment would meet on this node.
    private func preflight(_ target: Manifest, stable: Manifest?, desired: DesiredState, observed: [ObservedContainer]) async throws
        -> [String]
    {
        var missing: Set<String> = []
        for agent in target.agents {
            if case .image(let image) = agent.workload, !missing.contains(image), try await !runtime.imageExists(image) {
                missing.insert(image)
            }
        }
        // Ports of the other deployments assigned here; this one's own (its stable version's,
        // its instances' here, or those of any version whose container still runs here — one
        // that never reached Running) may be held by its own containers.
        var portsInUse: [HostPort: DeploymentKey] = [:]
        var own = stable.map(Preflight.hostPorts(of:)) ?? []
        let running = Set(
            observed.filter { $0.isManaged(by: settings.node) && $0.isAlive && $0.instanceID?.key == target.key }
                .compactMap { $0.labels[ContainerLabel.deploymentVersion].flatMap(Int.init) })
        for number in running.sorted() {
            if let version = try await store.version(target.key, number) { own.formUnion(Preflight.hostPorts(of: version.manifest)) }
        }
        for instance in desired.instances {
            if instance.id.key == target.key {
                own.formUnion(instance.spec.hostPorts)
            } else {
                for port in instance.spec.hostPorts { portsInUse[port] = instance.id.key }
            }
        }
        var held: Set<HostPort> = []
        for port in Preflight.hostPorts(of: target).subtracting(own) where portsInUse[port] == nil && !HostPorts.isFree(port) {
            held.insert(port)
        }
        return Preflight.problems(
            .init(
                from: stable, to: target, node: settings.node, missingImages: missing, portsInUse: portsInUse,
                portsHeldOutsideMN: held))
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

/// What a node should run, from its assignment.
struct NodeDesiredState: Sendable {
    var instances: [DesiredInstance]
    /// Deployments whose instances here are reported but never acted on.
    var frozen: Set<DeploymentKey>
    /// Versions to check before they start anywhere.
    var checks: [NodeAssignment.Check]
    /// The manifests of the versions the assignment names.
    var manifests: [DeploymentID: Manifest]
}

/// The agent's memory between passes: the restart records, what the last pass saw and
/// reported, the desired state it read last, and when a pass last finished.
actor AgentState {
    private(set) var records: [InstanceRecord]?
    private(set) var lastPassAt: Timestamp?
    /// The report last written, so an unchanged one is not written again.
    private(set) var lastReport: NodeReport?
    /// Containers out of discovery, waiting for their shutdown delay (the last plan's).
    private(set) var draining: [ContainerID: Timestamp] = [:]
    /// When the pass time (or the whole report) was last written.
    private(set) var passTimeWrittenAt: Timestamp?
    /// The desired state last read from the store, and when (`state` is `nil`: no assignment).
    private(set) var desired: (state: NodeDesiredState?, readAt: Timestamp)?
    func setLastReport(_ report: NodeReport) { lastReport = report }
    func passTimeWritten(at time: Timestamp) { passTimeWrittenAt = time }
    func setDesired(_ state: NodeDesiredState?, readAt time: Timestamp) { desired = (state, time) }
    func setDraining(_ draining: [ContainerID: Timestamp]) { self.draining = draining }
    func setRecords(_ records: [InstanceRecord]) { self.records = records }
    func passFinished(at time: Timestamp) { lastPassAt = time }
}
