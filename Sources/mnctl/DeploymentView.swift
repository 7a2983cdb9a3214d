import Foundation
import MNAgent
import MNCore
import MNReconcile

/// A deployment as `list` and `status` show it: the record without manifests (whose env
/// may hold secrets) and the instances the nodes report for it.
struct DeploymentView: Encodable {
    struct Version: Encodable {
        let number: Int
        let contentHash: SpecHash
        let createdAt: Timestamp
        let source: VersionSource
        /// The bundle folder it was deployed from, if any.
        let bundle: String?
        /// Its payload files (path, SHA-256, size), if any.
        let payloads: [Payload]

        enum CodingKeys: String, CodingKey {
            case number, source, bundle, payloads
            case contentHash = "content_hash"
            case createdAt = "created_at"
        }
    }

    struct Instance: Encodable {
        let node: NodeID
        /// When that node's agent last reported: older reports may no longer be true.
        let reportedAt: Timestamp
        let status: InstanceStatus
        /// What the node remarks beyond the phase (started without an optional service).
        let note: String?

        enum CodingKeys: String, CodingKey {
            case node, status, note
            case reportedAt = "reported_at"
        }
    }

    /// An update in progress (or failed): its strategy, the units done and in flight, what it
    /// waits for and when it fails if nothing changes.
    struct Rollout: Encodable {
        let target: Int
        let strategy: UpdatePolicy.Strategy
        let done: [String]
        let inProgress: [String]
        let promotedAt: Timestamp?
        let awaitingPromotion: Bool
        /// An operator asked for the promotion before the first wave was healthy.
        let promotionQueued: Bool
        let waitingFor: String
        let deadline: Timestamp?
        let startedAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case target, strategy, done, deadline
            case inProgress = "in_progress"
            case promotedAt = "promoted_at"
            case awaitingPromotion = "awaiting_promotion"
            case promotionQueued = "promotion_queued"
            case waitingFor = "waiting_for"
            case startedAt = "started_at"
        }
    }

    let key: DeploymentKey
    let id: DeploymentID
    let status: String
    /// Why it failed, and in which state (Validating: nothing of the version started).
    let failure: DeploymentFailure?
    let rollout: Rollout?
    /// The node it is pinned to (`--node`), if any.
    let pinnedTo: NodeID?
    /// Why some instances have no node now (`no node fits agent "web": a: …`).
    let unplaced: String?
    /// Instances on nodes that are down, and when each is rescheduled (or why not).
    let lost: [LostInstance]
    /// Instance counts per version.
    let health: [HealthSummary]
    /// Batch and sysbatch runs, oldest first.
    let runs: [BatchRun]
    let latestVersion: Int
    /// The last version that reached Running: where a failed update reverts to.
    let stableVersion: Int?
    /// Where `mnctl deployment rollback` would return to: the stable version while an update
    /// of another one is under way, else the stable version before it (none yet: `nil`).
    let rollbackTarget: Int?
    /// A version added while paused, waiting for `resume`.
    let waitsForResume: Int?
    /// The latest version's update policy as it runs (a value that differs from the default
    /// counts as the manifest's: the stored form does not say more).
    let updatePolicy: UpdatePolicyReport
    let versions: [Version]
    let instances: [Instance]
    /// Containers of this deployment out of discovery, in their shutdown delay before the stop.
    let draining: [Draining]
    let events: [DeploymentEvent]

    struct Draining: Encodable {
        let node: NodeID
        let container: NodeReport.DrainingContainer
    }
    /// Whether the deployment is settled (Running, Complete, Failed, RolledBack): where `--watch` stops.
    let isTerminal: Bool
    /// Settled well: Running, or Complete with a last run that completed (`--watch` exits 0).
    let succeeded: Bool

    enum CodingKeys: String, CodingKey {
        case key, id, status, versions, instances, events, rollout, failure, health, runs, unplaced, lost, draining
        case pinnedTo = "pinned_to"
        case latestVersion = "latest_version"
        case rollbackTarget = "rollback_target"
        case stableVersion = "stable_version"
        case waitsForResume = "waits_for_resume"
        case updatePolicy = "update_policy"
    }

    init(_ deployment: Deployment, reports: [NodeReport]) {
        key = deployment.key
        id = deployment.id
        latestVersion = deployment.latest.number
        versions = deployment.versions.map {
            Version(
                number: $0.number, contentHash: $0.contentHash, createdAt: $0.createdAt, source: $0.source, bundle: $0.bundle,
                payloads: $0.manifest.payloads)
        }
        instances = reports.flatMap { report in
            report.instances.filter { $0.id.key == deployment.key }.map { status in
                Instance(node: report.node, reportedAt: report.at, status: status, note: report.notes.first { $0.instance == status.id }?.note)
            }
        }
        draining = reports.flatMap { report in
            report.draining.filter { $0.instance?.key == deployment.key }.map { Draining(node: report.node, container: $0) }
        }
        events = deployment.events
        stableVersion = deployment.rollbackTarget
        rollbackTarget = deployment.rollbackTarget == deployment.latest.number ? deployment.previousStable : deployment.rollbackTarget
        waitsForResume = deployment.latestWaitsForResume ? deployment.latest.number : nil
        updatePolicy = UpdatePolicyReport(
            of: deployment.latest.manifest, document: nil, previous: deployment.stable(before: deployment.latest.number)?.manifest)
        // A batch deployment whose runs all ended has nothing running: say so.
        let allRunsEnded = !deployment.latest.manifest.type.isLongRunning && !deployment.runs.isEmpty && deployment.runs.allSatisfy(\.isFinished)
        status = allRunsEnded && deployment.status == .running ? "Complete" : Self.name(of: deployment.status)
        succeeded = deployment.status == .running && (!allRunsEnded || deployment.runs.last?.outcome == .complete)
        failure = deployment.status == .failed ? deployment.failure : nil
        pinnedTo = deployment.node
        unplaced = deployment.unplaced
        lost = deployment.lost
        health = deployment.health
        runs = deployment.runs
        rollout = deployment.rollout.map { state in
            Rollout(
                target: state.target, strategy: state.strategy, done: state.done.sorted(),
                inProgress: state.placedAt.keys.filter { !state.done.contains($0) }.sorted(), promotedAt: state.promotedAt,
                awaitingPromotion: state.awaitingPromotion, promotionQueued: state.promotionRequestedAt != nil && state.promotedAt == nil,
                waitingFor: state.waitingFor, deadline: state.deadline,
                startedAt: state.startedAt)
        }
        isTerminal = deployment.status.isTerminal
    }

    /// The status as printed: Validating, Deploying, Running, Paused, Draining, Failed, RolledBack
    /// (and Complete for a batch deployment whose runs all ended, set in `init`).
    static func name(of status: DeploymentStatus) -> String {
        switch status {
        case .validating: "Validating"
        case .deploying: "Deploying"
        case .running: "Running"
        case .paused: "Paused"
        case .draining: "Draining"
        case .failed: "Failed"
        case .rolledBack: "RolledBack"
        }
    }
}

/// `2026-11-23 08:31:40` (UTC).
func formatTime(_ time: Timestamp) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.locale = Locale(identifier: "en_US_POSIX")
    return formatter.string(from: Date(timeIntervalSince1970: Double(time.milliseconds) / 1_000)) + "Z"
}

/// `in 4m 10s`, or `overdue` once past.
func untilText(_ time: Timestamp, now: Timestamp) -> String {
    let ms = time.milliseconds(since: now)
    guard ms > 0 else { return "overdue" }
    let seconds = (ms + 999) / 1_000
    return seconds >= 60 ? "in \(seconds / 60)m \(seconds % 60)s" : "in \(seconds)s"
}

/// Pads columns to their widest cell.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

extension DeploymentStore {
    /// Reports of every node that has reported, each dated by its agent's last pass (an agent
    /// rewrites its report only when what it says changed).
    func allReports() async throws -> [NodeReport] {
        let passes = try await nodes().sorted { $0.key < $1.key }
        let reports = try await reports(of: passes.map(\.key))
        return passes.compactMap { node, lastPass in
            guard var report = reports[node] else { return nil }
            report.at = max(report.at, lastPass)
            return report
        }
    }
}
