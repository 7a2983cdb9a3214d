/// Where a deployment stands (Caxton's states, plus the ends of a rollout).
public enum DeploymentStatus: String, CaseIterable, Hashable, Sendable, Codable {
    /// Checks run before anything starts (static checks, image present, ports free).
    case validating
    /// A rollout is placing or replacing instances.
    case deploying
    /// The current version runs and is healthy.
    case running
    /// An operator paused the rollout: no new actions until resumed.
    case paused
    /// Instances are being drained before removal.
    case draining
    /// The rollout failed (validation, health or progress deadline, or by an operator).
    case failed
    /// The rollout failed and was reverted to the last stable version.
    case rolledBack = "rolled_back"

    /// Whether a rollout in this state is finished and takes no further automatic steps.
    public var isTerminal: Bool { self == .running || self == .failed || self == .rolledBack }
}

/// How a version came to be.
public enum VersionSource: Hashable, Sendable {
    /// `mnctl apply` or `deployment deploy` of a manifest.
    case applied
    /// A copy of an earlier version's manifest, made by an operator's rollback.
    case rollback(from: Int, reason: String)
    /// A copy of the last stable version, made automatically after a failed update
    /// (`auto_revert`); `reason` is why the update failed. Such a version is never reverted.
    case autoRevert(from: Int, reason: String)

    /// How the version's creation event and `deployment status` describe it.
    public var summary: String {
        switch self {
        case .applied: "applied"
        case .rollback(let from, let reason): "rolled back to version \(from): \(reason)"
        case .autoRevert(let from, let reason): "reverted to version \(from) after a failed update: \(reason)"
        }
    }
}

extension VersionSource: Codable {
    private enum CodingKeys: String, CodingKey {
        case applied, rollback
        case autoRevert = "auto_revert"
    }

    private enum CopyKeys: String, CodingKey { case from, reason }

    /// Records written before automatic reverts had a case of their own stored them as a
    /// rollback whose reason starts with this.
    static let legacyAutoRevertPrefix = "auto-revert: "

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let key = container.allKeys.first, container.allKeys.count == 1 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a version source is one of applied, rollback, auto_revert"))
        }
        if key == .applied {
            self = .applied
            return
        }
        let copy = try container.nestedContainer(keyedBy: CopyKeys.self, forKey: key)
        let from = try copy.decode(Int.self, forKey: .from)
        let reason = try copy.decode(String.self, forKey: .reason)
        if key == .autoRevert {
            self = .autoRevert(from: from, reason: reason)
        } else if reason.hasPrefix(Self.legacyAutoRevertPrefix) {
            self = .autoRevert(from: from, reason: String(reason.dropFirst(Self.legacyAutoRevertPrefix.count)))
        } else {
            self = .rollback(from: from, reason: reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        func copy(_ key: CodingKeys, from: Int, reason: String) throws {
            var copy = container.nestedContainer(keyedBy: CopyKeys.self, forKey: key)
            try copy.encode(from, forKey: .from)
            try copy.encode(reason, forKey: .reason)
        }
        switch self {
        case .applied: _ = container.nestedContainer(keyedBy: CopyKeys.self, forKey: .applied)
        case .rollback(let from, let reason): try copy(.rollback, from: from, reason: reason)
        case .autoRevert(let from, let reason): try copy(.autoRevert, from: from, reason: reason)
        }
    }
}

/// Why and where a deployment failed.
public struct DeploymentFailure: Hashable, Sendable, Codable {
    /// The version that failed.
    public var version: Int
    /// The state it failed in: ``DeploymentStatus/validating`` (nothing of it started) or
    /// ``DeploymentStatus/deploying``.
    public var phase: DeploymentStatus
    public var reason: String
    public var at: Timestamp

    /// Creates a failure.
    public init(version: Int, phase: DeploymentStatus, reason: String, at: Timestamp) {
        self.version = version
        self.phase = phase
        self.reason = reason
        self.at = at
    }
}

/// Something that happened to a deployment, for `deployment status` and the event log.
public struct DeploymentEvent: Hashable, Sendable, Codable {
    public var at: Timestamp
    /// The version the event is about.
    public var version: Int
    public var message: String

    /// Creates an event.
    public init(at: Timestamp, version: Int, message: String) {
        self.at = at
        self.version = version
        self.message = message
    }
}

/// Instance counts of one version, as the agents last saw them.
public struct HealthSummary: Hashable, Sendable, Codable {
    public var version: Int
    /// Instances of this version the rollout wants running now.
    public var desired: Int
    public var placed: Int
    public var healthy: Int
    public var unhealthy: Int
    /// Placed on a node that is down: unavailable, neither healthy nor unhealthy.
    public var lost: Int

    /// Creates a summary.
    public init(version: Int, desired: Int = 0, placed: Int = 0, healthy: Int = 0, unhealthy: Int = 0, lost: Int = 0) {
        self.version = version
        self.desired = desired
        self.placed = placed
        self.healthy = healthy
        self.unhealthy = unhealthy
        self.lost = lost
    }

    enum CodingKeys: String, CodingKey {
        case version, desired, placed, healthy, unhealthy, lost
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        desired = try container.decode(Int.self, forKey: .desired)
        placed = try container.decode(Int.self, forKey: .placed)
        healthy = try container.decode(Int.self, forKey: .healthy)
        unhealthy = try container.decode(Int.self, forKey: .unhealthy)
        lost = try container.decodeIfPresent(Int.self, forKey: .lost) ?? 0
    }
}

/// Why a deployment could not change as asked.
public struct DeploymentError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}

/// The record of one deployment key: its version history, where its rollout stands,
/// its recent events and the version to roll back to.
///
/// History is append-only: versions are numbered from 1, never edited or removed; a
/// rollback appends a copy of an earlier version.
public struct Deployment: Hashable, Sendable {
    public let key: DeploymentKey
    /// Every version, oldest first; `versions[i].number == i + 1`.
    public private(set) var versions: [DeploymentVersion]
    public var status: DeploymentStatus
    /// The version a revert goes back to: the last one that reached Running (set with
    /// ``markStable(_:)``).
    public private(set) var rollbackTarget: Int?
    /// The stable version before ``rollbackTarget``: where `mnctl deployment rollback` returns
    /// to once the latest version runs.
    public private(set) var previousStable: Int?
    /// The update in progress (or the one that failed), if any.
    public var rollout: RolloutState?
    /// Why the deployment failed, while its status is ``DeploymentStatus/failed``.
    public var failure: DeploymentFailure?
    /// Instance counts per version, oldest version first.
    public var health: [HealthSummary]
    /// Batch and sysbatch only: every run, oldest first (see ``BatchRun``).
    public internal(set) var runs: [BatchRun]
    /// The most recent events, oldest first, at most ``eventLimit``.
    public private(set) var events: [DeploymentEvent]
    /// Counts the record's writes: the store bumps it on every write (and guards writes itself
    /// with WATCH), so a reader can tell whether the record changed since it last looked, and a
    /// write that changed nothing shows as the same revision.
    public var revision: Int
    /// The node an operator pinned it to (`--node`): placement puts its instances there only
    /// (the constraint `node.id = NODE`). Later changes keep the pin unless told otherwise;
    /// `nil`: the controller places it on any node that fits.
    public var node: NodeID?
    /// Why some of its instances have no node now (``nil`` when every one has): set by the
    /// controller, as `no node fits agent "embed": a: no gpu; b: draining`.
    public var unplaced: String?
    /// Its instances on nodes that are down, and what the reschedule policy does about each
    /// (set by the controller; empty while every node it runs on is up).
    public var lost: [LostInstance]
    /// Its recent reschedules (``ReschedulePolicy/relevant(_:now:)`` of each instance's), oldest
    /// first: what the policy's attempts and delays count.
    public var reschedules: [RescheduleEvent]

    /// Events kept in the record; the full log lives in the store.
    public static let eventLimit = 100

    /// Starts a deployment with `manifest` as version 1 (deployed from `bundle`, if given).
    public init(first manifest: Manifest, bundle: String? = nil, at time: Timestamp) {
        key = manifest.key
        versions = [
            DeploymentVersion(
                number: 1, manifest: manifest, contentHash: manifest.contentHash, createdAt: time, source: .applied, bundle: bundle)
        ]
        status = .validating
        rollbackTarget = nil
        previousStable = nil
        rollout = nil
        failure = nil
        health = []
        runs = []
        events = []
        revision = 0
        node = nil
        unplaced = nil
        lost = []
        reschedules = []
        record(DeploymentEvent(at: time, version: 1, message: "version 1 created (applied)"))
        if !manifest.type.isLongRunning { _ = startRun(at: time) }
    }

    /// The newest version, which the deployment is rolling to or running.
    public var latest: DeploymentVersion { versions[versions.count - 1] }

    /// Whether the latest version was added while paused and nothing of it was checked or
    /// started yet: it waits for `resume` (then it is validated first).
    public var latestWaitsForResume: Bool {
        status == .paused && rollout?.target != latest.number && rollbackTarget != latest.number
    }

    /// The id of the current rollout.
    public var id: DeploymentID { DeploymentID(key: key, version: latest.number) }

    /// What tells this history from another of the same key: when its version 1 was made, and
    /// its content hash. A record made again after the store lost the old one (its version
    /// numbers used again) has another origin, so a reader that cached the old versions knows
    /// they are not these. Stored with a record kept without its versions.
    public var origin: String { "\(versions[0].createdAt.milliseconds)-\(versions[0].contentHash.rawValue.prefix(16))" }

    /// The version an update to version `number` starts from: the rollback target, unless that
    /// is `number` itself (then there is nothing to update from).
    public func stable(before number: Int) -> DeploymentVersion? {
        rollbackTarget.flatMap { $0 == number ? nil : version($0) }
    }

    /// The version numbered `number`, if it exists.
    public func version(_ number: Int) -> DeploymentVersion? {
        versions.indices.contains(number - 1) ? versions[number - 1] : nil
    }

    /// The result of offering a manifest to the history.
    public enum AppendResult: Hashable, Sendable {
        /// A new version was added.
        case appended(DeploymentVersion)
        /// The manifest means the same as the latest version; nothing was added.
        case unchanged(DeploymentVersion)
    }

    /// Adds `manifest` as a new version unless it is the same as the latest one.
    ///
    /// - Throws: ``DeploymentError`` if the manifest is for another deployment key.
    public mutating func append(_ manifest: Manifest, bundle: String? = nil, at time: Timestamp) throws(DeploymentError) -> AppendResult {
        guard manifest.key == key else {
            throw DeploymentError("manifest is for deployment '\(manifest.key)', not '\(key)'")
        }
        let hash = manifest.contentHash
        if hash == latest.contentHash { return .unchanged(latest) }
        return .appended(add(manifest, hash: hash, at: time, source: .applied, bundle: bundle))
    }

    /// Appends a copy of version `number` as a new version; history is never rewritten.
    ///
    /// - Throws: ``DeploymentError`` if the version does not exist or is already what the latest version holds.
    public mutating func rollback(to number: Int, reason: String, at time: Timestamp) throws(DeploymentError) -> DeploymentVersion {
        guard let target = version(number) else {
            throw DeploymentError("deployment '\(key)' has no version \(number) (versions 1-\(versions.count))")
        }
        guard target.contentHash != latest.contentHash else {
            throw DeploymentError("version \(number) has the same manifest as the latest version \(latest.number); nothing to roll back")
        }
        return add(target.manifest, hash: target.contentHash, at: time, source: .rollback(from: number, reason: reason), bundle: target.bundle)
    }

    /// With `auto_revert`, a failed update of version `failedVersion` is followed by a copy of
    /// the last stable version (the rollback target), appended as a new version. Nothing happens
    /// — `nil` — when the policy does not ask for it, when a newer version exists, when there is
    /// no stable version or it has the same manifest, or when the failed version is itself an
    /// automatic revert: a revert is never reverted, so there is no loop (Nomad #10337).
    public mutating func revertAfterFailure(of failedVersion: Int, reason: String, at time: Timestamp) -> DeploymentVersion? {
        guard let failed = version(failedVersion), failed.manifest.policies.update.autoRevert, !failed.isAutoRevert,
            latest.number == failedVersion, let stable = rollbackTarget
        else { return nil }
        guard let target = version(stable), target.contentHash != latest.contentHash else { return nil }
        return add(target.manifest, hash: target.contentHash, at: time, source: .autoRevert(from: stable, reason: reason), bundle: target.bundle)
    }

    /// Makes version `number` the stable one (it reached Running); the one before is kept as
    /// ``previousStable``.
    public mutating func markStable(_ number: Int) {
        guard rollbackTarget != number else { return }
        previousStable = rollbackTarget
        rollbackTarget = number
    }

    /// Adds an event, dropping the oldest beyond ``eventLimit``.
    public mutating func record(_ event: DeploymentEvent) {
        events.append(event)
        if events.count > Self.eventLimit { events.removeFirst(events.count - Self.eventLimit) }
    }

    private mutating func add(
        _ manifest: Manifest, hash: SpecHash, at time: Timestamp, source: VersionSource, bundle: String? = nil
    ) -> DeploymentVersion {
        let version = DeploymentVersion(
            number: versions.count + 1, manifest: manifest, contentHash: hash, createdAt: time, source: source, bundle: bundle)
        versions.append(version)
        // A new version is validated before anything of it starts — once resumed, if paused:
        // a pause holds everything of the deployment, new versions included.
        var message = "version \(version.number) created (\(source.summary))"
        if status == .paused {
            message += "; paused: it waits for resume"
        } else {
            status = .validating
        }
        failure = nil
        record(DeploymentEvent(at: time, version: version.number, message: message))
        // Batch jobs are not updated in place: a new version is a new run.
        if !manifest.type.isLongRunning { _ = startRun(at: time) }
        return version
    }
}

extension CodingUserInfoKey {
    /// `true`: encode a ``Deployment`` without its versions (a store that keeps its immutable
    /// versions apart, so that a status change does not rewrite the history).
    public static let deploymentWithoutVersions = CodingUserInfoKey(rawValue: "mn.deployment.without-versions")!
    /// The `[DeploymentVersion]` of a ``Deployment`` encoded without them, for decoding it.
    public static let deploymentVersions = CodingUserInfoKey(rawValue: "mn.deployment.versions")!
}

extension Deployment: Codable {
    enum CodingKeys: String, CodingKey {
        case key, versions, status, health, events, revision, rollout, failure, runs, node, unplaced, lost, reschedules
        case rollbackTarget = "rollback_target"
        case previousStable = "previous_stable"
        case versionCount = "version_count"
        case origin
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        if encoder.userInfo[.deploymentWithoutVersions] as? Bool == true {
            try container.encode(versions.count, forKey: .versionCount)
            try container.encode(origin, forKey: .origin)
        } else {
            try container.encode(versions, forKey: .versions)
        }
        try container.encode(status, forKey: .status)
        try container.encode(health, forKey: .health)
        try container.encode(events, forKey: .events)
        try container.encode(revision, forKey: .revision)
        try container.encodeIfPresent(rollout, forKey: .rollout)
        try container.encodeIfPresent(failure, forKey: .failure)
        try container.encode(runs, forKey: .runs)
        try container.encodeIfPresent(node, forKey: .node)
        try container.encodeIfPresent(unplaced, forKey: .unplaced)
        if !lost.isEmpty { try container.encode(lost, forKey: .lost) }
        if !reschedules.isEmpty { try container.encode(reschedules, forKey: .reschedules) }
        try container.encodeIfPresent(rollbackTarget, forKey: .rollbackTarget)
        try container.encodeIfPresent(previousStable, forKey: .previousStable)
    }

    /// Reads a record; one written without its versions takes them from the decoder's
    /// ``Swift/CodingUserInfoKey/deploymentVersions``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(DeploymentKey.self, forKey: .key)
        if let inline = try container.decodeIfPresent([DeploymentVersion].self, forKey: .versions) {
            versions = inline
        } else {
            // Stored apart: the first `version_count` of those given (more may have been added
            // since this record was read; the history is append-only).
            let count = try container.decode(Int.self, forKey: .versionCount)
            let given = (decoder.userInfo[.deploymentVersions] as? [DeploymentVersion]) ?? []
            guard given.count >= count else {
                throw DecodingError.dataCorruptedError(
                    forKey: .versionCount, in: container, debugDescription: "the record has \(count) versions, \(given.count) are stored")
            }
            versions = Array(given.prefix(count))
        }
        status = try container.decode(DeploymentStatus.self, forKey: .status)
        rollbackTarget = try container.decodeIfPresent(Int.self, forKey: .rollbackTarget)
        previousStable = try container.decodeIfPresent(Int.self, forKey: .previousStable)
        rollout = try container.decodeIfPresent(RolloutState.self, forKey: .rollout)
        failure = try container.decodeIfPresent(DeploymentFailure.self, forKey: .failure)
        runs = try container.decodeIfPresent([BatchRun].self, forKey: .runs) ?? []
        // Counts the agents rewrite on every pass: a record from before they were per version
        // (one object) reads as none yet instead of failing the whole record.
        health = (try? container.decodeIfPresent([HealthSummary].self, forKey: .health)) ?? []
        events = try container.decode([DeploymentEvent].self, forKey: .events)
        revision = try container.decode(Int.self, forKey: .revision)
        node = try container.decodeIfPresent(NodeID.self, forKey: .node)
        unplaced = try container.decodeIfPresent(String.self, forKey: .unplaced)
        lost = try container.decodeIfPresent([LostInstance].self, forKey: .lost) ?? []
        reschedules = try container.decodeIfPresent([RescheduleEvent].self, forKey: .reschedules) ?? []
        guard !versions.isEmpty, versions.enumerated().allSatisfy({ $0.element.number == $0.offset + 1 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .versions, in: container, debugDescription: "versions must be numbered 1, 2, 3, … without gaps")
        }
        // Each version's content hash was checked when it was read (``DeploymentVersion``'s
        // decoders), once: not again at every read of the record, which would cost the history;
        // versions a transaction reads lazily are checked if and when they are used.
        guard versions.allSatisfy({ !$0.isRead || $0.manifest.key == key }) else {
            throw DecodingError.dataCorruptedError(forKey: .versions, in: container, debugDescription: "a version's manifest is for another key")
        }
    }
}
