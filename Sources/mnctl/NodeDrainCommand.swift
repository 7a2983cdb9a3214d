import ArgumentParser
import Foundation
import MNAgent
import MNCore
import MNReconcile

/// `mnctl node drain NODE --reason R --deadline 30m [--dry-run] [--wait]`
struct NodeDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Move a node's work elsewhere before maintenance: no new placements, services moved, the rest stopped at the deadline.",
        discussion: """
            The node becomes ineligible at once. Each service instance gets a copy on another node that fits, and stops only once that copy is healthy (by id, with its stop signal and grace), at most the deployment's max_parallel moving at a time. Batch runs may finish until the deadline. At the deadline whatever is left stops. The drain is kept in Redis (who, why, until when) and survives a change of controller. Nothing moves back after 'undrain'.

              mnctl node drain gpu-2 --reason "driver update" --deadline 30m --dry-run
              mnctl node drain gpu-2 --reason "driver update" --deadline 30m --wait
              mnctl node undrain gpu-2 --mark-eligible --reason "ready"
            """)

    @Argument(help: "The node id, as 'mnctl node list' shows it.")
    var node: String

    @Option(help: "Why (kept with the drain).")
    var reason: String = "none given"

    @Option(help: "How long the drain may take before what is left is stopped: 90s, 30m, 2h, 1h30m.")
    var deadline = DurationArgument(argument: "1h")!

    @Flag(help: "Print what would move where, what no node can take (and why) and what would stop; write nothing.")
    var dryRun = false

    @Flag(help: "Wait for the drain to complete, showing what is left; exit 0 once the node runs nothing, 1 if the deadline stopped instances that had not moved.")
    var wait = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
        if dryRun && wait { throw ValidationError("--dry-run writes nothing, so there is nothing to --wait for; give one") }
        if deadline.milliseconds == 0 { throw ValidationError("--deadline: must be more than 0 (90s, 30m, 1h30m)") }
    }

    func run() async throws {
        let node = NodeID(self.node)
        try await withStore(store) { store in
            if dryRun {
                try await preview(node, in: store)
                return
            }
            let now = Timestamp.now()
            let drain = NodeDrain(reason: reason, by: Self.who, since: now, deadline: now.adding(ms: deadline.milliseconds))
            let state = try await NodeRegistry(redis: store.redis).administer(node) { administration in
                if let current = administration.drain {
                    throw NodeRegistry.Refusal("node \(node) is draining already (since \(formatTime(current.since)), until \(formatTime(current.deadline))); undrain it first to change the drain")
                }
                administration.drain = drain
            }
            switch options.output {
            case .json: print(jsonText(state))
            case .text: print("\(node): draining until \(formatTime(drain.deadline)) (\(reason))")
            }
            if wait { try await waitForDrain(node, deadline: drain.deadline, in: store) }
        }
    }

    /// Who asks: `user@host`.
    static var who: String {
        let environment = ProcessInfo.processInfo.environment
        return "\(environment["USER"] ?? environment["LOGNAME"] ?? "unknown")@\(ProcessInfo.processInfo.hostName)"
    }

    private func preview(_ node: NodeID, in store: DeploymentStore) async throws {
        let state = try await ClusterState.read(from: store)
        guard state.nodes.contains(where: { $0.info.id == node }) else {
            throw StoreError("no node '\(node)' is registered (mnctl node list shows the nodes)")
        }
        let items = DrainPreview.preview(state.input(at: .now()), draining: node)
        switch options.output {
        case .json:
            struct Row: Encodable {
                let instance: String
                let version: Int
                let fate: String
                let to: String?
                let reason: String?
            }
            print(
                jsonText(
                    items.map { item -> Row in
                        switch item.fate {
                        case .moves(let to): Row(instance: "\(item.instance)", version: item.version, fate: "moves", to: to.rawValue, reason: nil)
                        case .unplaceable(let why):
                            Row(instance: "\(item.instance)", version: item.version, fate: "stops_unplaced", to: nil, reason: why)
                        case .finishesOrStops:
                            Row(instance: "\(item.instance)", version: item.version, fate: "finishes_or_stops_at_deadline", to: nil, reason: nil)
                        }
                    }))
        case .text:
            guard !items.isEmpty else {
                print("Draining \(node) would move nothing: no instance is assigned to it. Nothing was written.")
                return
            }
            var rows = [["INSTANCE", "VERSION", "WHAT HAPPENS"]]
            for item in items {
                let what: String
                switch item.fate {
                case .moves(let to): what = "moves to \(to) (stops here once healthy there)"
                case .unplaceable(let why): what = "stops at the deadline: \(why)"
                case .finishesOrStops: what = "batch: may finish; stops at the deadline"
                }
                rows.append(["\(item.instance)", "v\(item.version)", what])
            }
            print("Draining \(node) (dry run; nothing was written):\n" + table(rows))
        }
    }

    /// Polls the node's assignment and report until it runs nothing, printing what is left
    /// whenever it changes. Once the deadline passed, what was still there and is now assigned
    /// to no other node was stopped without a place to go: named, and exit 1.
    private func waitForDrain(_ node: NodeID, deadline: Timestamp, in store: DeploymentStore) async throws {
        var last = ""
        var atDeadline: Set<InstanceID>?
        while true {
            let assigned = try await store.assignment(of: node)?.instances ?? []
            let report = try await store.report(of: node)
            let reported = (report?.instances ?? []).filter { $0.container != nil && $0.phase != .complete }
            // Stopping ones count until they are gone: out of discovery, in their shutdown delay,
            // or still running after a stop that failed (retried by the agent).
            let stopping = ((report?.draining ?? []) + (report?.stopping ?? [])).compactMap(\.instance)
            let ids = Set(assigned.map(\.id)).union(reported.map(\.id)).union(stopping)
            if atDeadline == nil, Timestamp.now() >= deadline { atDeadline = ids }
            if ids.isEmpty {
                guard let atDeadline, !atDeadline.isEmpty else {
                    printError("\(node): drained")
                    return
                }
                let stopped = try await Self.assignedNowhere(atDeadline, except: node, in: store)
                guard !stopped.isEmpty else {
                    printError("\(node): drained at the deadline; every instance it had is assigned elsewhere")
                    return
                }
                printError(
                    "\(node): drained, but the deadline stopped \(stopped.count) instance\(stopped.count == 1 ? "" : "s") that had not moved or finished: "
                        + stopped.map(\.description).joined(separator: ", ") + " (mnctl deployment status KEY says why)")
                throw ExitStatus.failed
            }
            let left = Dictionary(grouping: ids, by: \.key).mapValues(\.count)
            let summary = left.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            if summary != last {
                printError("\(node): \(ids.count) instances left (\(summary))")
                last = summary
            }
            guard try await NodeRegistry(redis: store.redis).entries().first(where: { $0.info.id == node })?.administration.drain != nil else {
                printError("\(node): the drain was ended (undrain) before it completed")
                throw ExitStatus.failed
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Those of `instances` that no node but `node` is assigned, sorted.
    private static func assignedNowhere(_ instances: Set<InstanceID>, except node: NodeID, in store: DeploymentStore) async throws -> [InstanceID] {
        var elsewhere: Set<InstanceID> = []
        for entry in try await NodeRegistry(redis: store.redis).entries() where entry.info.id != node {
            for instance in try await store.assignment(of: entry.info.id)?.instances ?? [] { elsewhere.insert(instance.id) }
        }
        return instances.subtracting(elsewhere).sorted()
    }
}

/// `mnctl node undrain NODE [--mark-eligible] --reason R`
struct NodeUndrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undrain",
        abstract: "End a node's drain; with --mark-eligible it takes new instances again. Nothing moves back by itself.",
        discussion: """
              mnctl node undrain gpu-2 --mark-eligible --reason "ready"
            """)

    @Argument(help: "The node id, as 'mnctl node list' shows it.")
    var node: String

    @Flag(help: "Make the node eligible for new instances again (without it, it stays ineligible).")
    var markEligible = false

    @Option(help: "Why (kept with the node's state).")
    var reason: String = "none given"

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func run() async throws {
        let node = NodeID(self.node)
        let (markEligible, reason) = (self.markEligible, self.reason)
        let state = try await withStore(store) { store in
            try await NodeRegistry(redis: store.redis).administer(node) { administration in
                guard administration.drain != nil else {
                    throw NodeRegistry.Refusal("node \(node) is not draining; nothing to undrain (mnctl node status \(node))")
                }
                administration.drain = nil
                administration.eligible = markEligible
                administration.reason = markEligible ? nil : reason
            }
        }
        switch options.output {
        case .json: print(jsonText(state))
        case .text: print("\(node): drain ended; \(state.eligible ? "eligible for new instances" : "still ineligible (--mark-eligible makes it eligible)")")
        }
    }
}

/// `mnctl node eligibility NODE --enable|--disable [--reason R]`
struct NodeEligibilityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eligibility",
        abstract: "Let a node take new instances, or not. Nothing already there moves (see 'drain').",
        discussion: """
              mnctl node eligibility gpu-2 --disable --reason "flaky disk"
              mnctl node eligibility gpu-2 --enable
            """)

    @Argument(help: "The node id, as 'mnctl node list' shows it.")
    var node: String

    @Flag(help: "Let it take new instances.")
    var enable = false

    @Flag(help: "Place nothing new on it.")
    var disable = false

    @Option(help: "Why (kept with the node's state).")
    var reason: String = "none given"

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: OutputOptions

    func validate() throws {
        guard enable != disable else { throw ValidationError("give exactly one of --enable and --disable") }
    }

    func run() async throws {
        let node = NodeID(self.node)
        let (eligible, reason) = (enable, self.reason)
        let state = try await withStore(store) { store in
            try await NodeRegistry(redis: store.redis).administer(node) { administration in
                if eligible, administration.drain != nil {
                    throw NodeRegistry.Refusal("node \(node) is draining; end the drain with: mnctl node undrain \(node) --mark-eligible")
                }
                administration.eligible = eligible
                administration.reason = eligible ? nil : reason
            }
        }
        switch options.output {
        case .json: print(jsonText(state))
        case .text: print("\(node): \(state.eligible ? "eligible" : "ineligible (\(state.reason ?? reason))")")
        }
    }
}
