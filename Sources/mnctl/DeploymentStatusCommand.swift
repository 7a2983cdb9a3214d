import ArgumentParser
import Foundation
import MNAgent
import MNCore
import MNReconcile

/// `mnctl deployment status KEY`
struct DeploymentStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one deployment: state, what a rollout waits for and its deadline, health per version, instances, events.",
        discussion: """
            States: Validating (checks before anything starts), Deploying, Running, Paused, Failed (with where and why), \
            RolledBack (an update failed and the last stable version was restored).

            Examples:
              mnctl deployment status shop
              mnctl deployment status shop --watch          # redraw until Running, Failed or RolledBack
              mnctl deployment status shop --output json
            """,
        aliases: ["show"])

    @Argument(help: "The deployment key.")
    var key: String

    @Option(help: "How many recent events to show.")
    var events: Int = 10

    @Flag(
        help:
            "Redraw on every change until the deployment is Running, Failed or RolledBack (exit 0 only for Running). With --output json, one JSON line per change."
    )
    var watch = false

    @Option(help: "With --watch: milliseconds between looks.")
    var interval: Int = 500

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        guard interval >= 50 else { throw ValidationError("--interval: must be at least 50 (milliseconds), got \(interval)") }
    }

    func run() async throws {
        let watcher = StatusWatcher(output: options.output, events: events, intervalMs: interval)
        try await withStore(store) { store in
            if watch {
                try await watcher.watch(DeploymentKey(key), in: store)
            } else {
                watcher.show(try await StatusWatcher.view(DeploymentKey(key), in: store), redraw: false)
            }
        }
    }

    static func render(_ view: DeploymentView, events: Int, now: Timestamp = .now()) -> String {
        let stable = view.stableVersion.map { "   stable v\($0)" } ?? ""
        let pinned = view.pinnedTo.map { "   pinned to node \($0)" } ?? ""
        var lines = ["Deployment \(view.key)   status \(view.status)   version \(view.latestVersion)\(stable)   id \(view.id)\(pinned)"]
        lines.append("  rollback would restore " + (view.rollbackTarget.map { "v\($0) (mnctl deployment rollback \(view.key) --version \($0))" } ?? "nothing: no earlier version reached Running"))
        if let waiting = view.waitsForResume {
            lines.append("  paused: version \(waiting) waits for resume (mnctl deployment resume \(view.key)); nothing of it starts before")
        }
        lines += ["", "Versions:"]
        lines += table(
            view.versions.map { version in
                let source: String =
                    switch version.source {
                    case .applied: "applied"
                    case .rollback(let from, let reason): "rollback to v\(from): \(reason)"
                    case .autoRevert(let from, let reason): "auto-revert to v\(from): \(reason)"
                    }
                var from = source
                if let bundle = version.bundle {
                    from += " from \(bundle)" + (version.payloads.isEmpty ? "" : " (\(version.payloads.count) payload file\(version.payloads.count == 1 ? "" : "s"))")
                }
                return ["  v\(version.number)", formatTime(version.createdAt), version.contentHash.short, from]
            }
        ).split(separator: "\n").map(String.init)
        if let unplaced = view.unplaced {
            lines += ["", "Waiting for placement: \(unplaced)", "  it is placed as soon as a node fits (mnctl node list)"]
        }
        if !view.lost.isEmpty {
            lines += ["", "Lost (their node is down; policies.reschedule decides when they move):"]
            for lost in view.lost {
                var line = "  \(lost.instance) on \(lost.node), down since \(formatTime(lost.since)): "
                if let at = lost.rescheduleAt {
                    line += "rescheduled at \(formatTime(at)) (\(untilText(at, now: now)))"
                } else {
                    line += lost.reason ?? "not rescheduled"
                }
                lines.append(line)
            }
        }
        if let failure = view.failure {
            lines += [
                "",
                "Failed in \(DeploymentView.name(of: failure.phase)) (v\(failure.version), \(formatTime(failure.at))): \(failure.reason)",
            ]
            if failure.phase == .validating {
                lines.append("  nothing of v\(failure.version) started; fix it, then: mnctl deployment resume \(view.key)")
            }
        }
        if let rollout = view.rollout {
            var line = "Rollout to v\(rollout.target) (\(rollout.strategy.rawValue)): \(rollout.done.count) done"
            if !rollout.inProgress.isEmpty { line += ", in progress: \(rollout.inProgress.joined(separator: ", "))" }
            lines += ["", line]
            if view.status == "Deploying" || view.status == "Paused" {
                if !rollout.waitingFor.isEmpty { lines.append("  waiting for \(rollout.waitingFor)") }
                if rollout.promotionQueued { lines.append("  promotion queued: it happens once the first wave is healthy") }
                if let deadline = rollout.deadline {
                    lines.append("  fails at \(formatTime(deadline)) (\(untilText(deadline, now: now))) if nothing progresses")
                } else if rollout.awaitingPromotion {
                    lines.append("  no deadline: the old version keeps serving until you run: mnctl deployment promote \(view.key)")
                }
            }
        }
        if !view.runs.isEmpty {
            if view.status == "Complete", let last = view.runs.last {
                lines += ["", "No run is active; run \(last.number) (v\(last.version)) ended: \(last.outcome?.description ?? "-"). Start another: mnctl deployment rerun \(view.key)"]
            }
            lines += ["", "Runs:"]
            lines += table(
                [["  RUN", "VERSION", "STARTED", "FINISHED", "OUTCOME"]]
                    + view.runs.map { run in
                        [
                            "  \(run.number)", "v\(run.version)", formatTime(run.startedAt), run.finishedAt.map(formatTime) ?? "-",
                            run.outcome?.description ?? "running",
                        ]
                    }
            ).split(separator: "\n").map(String.init)
        }
        lines += [""] + describe(view.updatePolicy, title: "Update policy")
        if !view.health.isEmpty {
            lines += ["", "Health:"]
            let anyLost = view.health.contains { $0.lost > 0 }
            lines += table(
                [["  VERSION", "DESIRED", "PLACED", "HEALTHY", "UNHEALTHY"] + (anyLost ? ["LOST"] : [])]
                    + view.health.map {
                        ["  v\($0.version)", "\($0.desired)", "\($0.placed)", "\($0.healthy)", "\($0.unhealthy)"] + (anyLost ? ["\($0.lost)"] : [])
                    }
            ).split(separator: "\n").map(String.init)
        }
        lines += ["", "Instances:"]
        if view.instances.isEmpty {
            lines.append("  none reported yet (is mnagent running on the node?)")
        } else {
            let lost = Set(view.lost.map { "\($0.node)/\($0.instance)" })
            // PORTS (container→host) only when some instance publishes one.
            let showPorts = view.instances.contains { !$0.status.ports.isEmpty }
            lines += table(
                [["  INSTANCE", "NODE", "VERSION", "PHASE", "CONTAINER"] + (showPorts ? ["PORTS"] : []) + ["HEALTH", "REPORTED"]]
                    + view.instances.map { instance in
                        let status = instance.status
                        // A node that is down reported last what it ran before: say so.
                        var phase = lost.contains("\(instance.node)/\(status.id)") ? "Lost (node down; last reported \(status.phase.name))" : status.phase.name
                        if case .failed(let reason, _) = status.phase { phase += ": \(reason)" }
                        if case .restarting(let at) = status.phase { phase += " at \(formatTime(at))" }
                        if case .waiting(let reason) = status.phase { phase += ": \(reason)" }
                        let ports = status.ports.map { "\($0.containerPort)→\($0.hostPort)" }.joined(separator: ",")
                        return [
                            "  \(status.id)", instance.node.rawValue, "v\(status.version)", phase,
                            status.container.map { String($0.rawValue.prefix(12)) } ?? "-",
                        ] + (showPorts ? [ports.isEmpty ? "-" : ports] : []) + [status.health?.rawValue ?? "-", formatTime(instance.reportedAt)]
                    }
            ).split(separator: "\n").map(String.init)
            let notes = view.instances.compactMap { instance in instance.note.map { "  \(instance.status.id) on \(instance.node): \($0)" } }
            if !notes.isEmpty { lines += ["", "Notes:"] + notes }
        }
        if !view.draining.isEmpty {
            lines += ["", "Draining (out of discovery, stopped once their shutdown delay has passed):"]
            for entry in view.draining {
                lines.append(
                    "  \(entry.container.instance?.description ?? "-")  \(entry.node)  \(entry.container.container.rawValue.prefix(12))  since \(formatTime(entry.container.since))")
            }
        }
        lines += ["", "Events:"]
        lines += view.events.suffix(events).map { "  \(formatTime($0.at))  v\($0.version)  \($0.message)" }
        return lines.joined(separator: "\n")
    }
}

/// Shows a deployment's status, once or until it settles: what `status --watch` and
/// `deploy --wait` share.
struct StatusWatcher {
    var output: OutputFormat
    /// How many recent events the text shows.
    var events: Int
    var intervalMs: Int
    /// Give up (exit 1) when the deployment is paused, rather than wait for someone to resume
    /// it (`deploy --wait`; `status --watch` waits).
    var stopWhenPaused = false

    /// Redraws on every change until the deployment is Running or Complete (returns; exit 1 when
    /// its last run failed), Failed or RolledBack (exit 1). Rides through a Redis outage or
    /// failover: it says so on standard error once, and looks again until Redis answers.
    func watch(_ key: DeploymentKey, in store: DeploymentStore) async throws {
        var last: String?
        var unreachable = false
        while true {
            let view: DeploymentView
            do {
                view = try await Self.view(key, in: store)
            } catch let error as RedisError where error.isConnectionError {
                if !unreachable { printError("note: lost Redis (\(error)); still watching, looking again until it answers") }
                unreachable = true
                try await Task.sleep(for: .milliseconds(max(intervalMs, 200)))
                continue
            }
            if unreachable { printError("note: Redis answers again") }
            unreachable = false
            let text = output == .json ? jsonLine(view) : DeploymentStatusCommand.render(view, events: events)
            if text != last { show(view, redraw: true) }
            last = text
            if view.isTerminal {
                if !view.succeeded { throw ExitStatus.failed }
                return
            }
            if stopWhenPaused && view.status == "Paused" {
                printError("\(key) is paused: nothing changes until 'mnctl deployment resume \(key)'; not waiting")
                throw ExitStatus.failed
            }
            try await Task.sleep(for: .milliseconds(intervalMs))
        }
    }

    static func view(_ key: DeploymentKey, in store: DeploymentStore) async throws -> DeploymentView {
        guard let deployment = try await store.deployment(key) else {
            let known = try await store.deployments().map(\.key.rawValue)
            printError("error: no deployment '\(key)'" + (known.isEmpty ? "; none exist yet" : "; known: \(known.joined(separator: ", "))"))
            throw ExitStatus.failed
        }
        return DeploymentView(deployment, reports: try await store.allReports())
    }

    /// Prints a view; when redrawing text on a terminal, clears the screen first.
    func show(_ view: DeploymentView, redraw: Bool) {
        switch output {
        case .json: print(redraw ? jsonLine(view) : jsonText(view))
        case .text:
            if redraw && isatty(STDOUT_FILENO) != 0 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            print(DeploymentStatusCommand.render(view, events: events) + (redraw && isatty(STDOUT_FILENO) == 0 ? "\n" : ""))
        }
        fflush(nil)
    }
}
