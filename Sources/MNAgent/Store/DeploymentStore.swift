import Foundation
public import MNCore
public import MNReconcile

/// mn's state in Redis: deployment records with their immutable versions, what each node
/// was assigned, what each node reports, and the nodes' verdicts on versions they checked.
///
/// Every multi-key write is one MULTI/EXEC under WATCH: it happens whole or not at all.
public struct DeploymentStore: Sendable {
    public let redis: RedisClient
    /// The versions read so far: immutable, so fetched once per process.
    private let versions: VersionCache
    /// The assignments read so far, by the bytes they were decoded from.
    private let assignments = DecodeCache<NodeID, NodeAssignment>()

    /// Uses `redis` for every read and write.
    public init(redis: RedisClient, versions: VersionCache = VersionCache()) {
        self.redis = redis
        self.versions = versions
    }

    /// The outcome of ``apply(_:to:at:)``.
    public struct ApplyResult: Hashable, Sendable, Codable {
        public var deployment: DeploymentKey
        /// The version the deployment now runs or rolls to.
        public var version: Int
        /// Whether a new version was written (false: the same manifest was already current).
        public var created: Bool
        /// The node it is pinned to, if any.
        public var node: NodeID?
        /// Whether the change set or removed a pin.
        public var pinChanged: Bool

        /// Creates a result.
        public init(deployment: DeploymentKey, version: Int, created: Bool, node: NodeID?, pinChanged: Bool = false) {
            self.deployment = deployment
            self.version = version
            self.created = created
            self.node = node
            self.pinChanged = pinChanged
        }

        enum CodingKeys: String, CodingKey {
            case deployment, version, created, node
            case pinChanged = "pin_changed"
        }
    }

    /// Where a change lets the controller place a deployment.
    public enum Pin: Hashable, Sendable {
        /// On this node only (the constraint `node.id = NODE`).
        case node(NodeID)
        /// On any node that fits: a pin it had is removed.
        case anyNode
        /// As before: the pin it has, or none (any node that fits) for a new deployment.
        case keep

        /// The pin of `deployment` after the change.
        func resolve(for deployment: Deployment?) -> NodeID? {
            switch self {
            case .node(let node): node
            case .anyNode: nil
            case .keep: deployment?.node
            }
        }
    }

    /// ``apply(_:pin:at:)`` pinned to `node`.
    public func apply(_ manifest: Manifest, to node: NodeID, at now: Timestamp) async throws -> ApplyResult {
        try await apply(manifest, pin: .node(node), at: now)
    }

    /// Records `manifest` as a new immutable version of its deployment (unless it means the
    /// same as the latest version) with its pin and the bundle it came from, and announces the
    /// change to the controller, all in one transaction.
    public func apply(_ manifest: Manifest, pin: Pin, bundle: String? = nil, at now: Timestamp) async throws -> ApplyResult {
        let recordKey = StoreKeys.deployment(manifest.key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(manifest.key)) { replies in
            var deployment: Deployment
            let version: DeploymentVersion
            var created = false
            let existing = try Self.decodeRecord(replies)
            let node = pin.resolve(for: existing)
            if let existing {
                deployment = existing
                switch try deployment.append(manifest, bundle: bundle, at: now) {
                case .appended(let added):
                    version = added
                    created = true
                case .unchanged(let current):
                    version = current
                }
            } else {
                deployment = Deployment(first: manifest, bundle: bundle, at: now)
                version = deployment.latest
                created = true
            }
            let pinChanged = existing != nil && existing?.node != node
            let result = ApplyResult(deployment: manifest.key, version: version.number, created: created, node: node, pinChanged: pinChanged)
            if !created && !pinChanged { return .skip(result) }
            if !created {
                let pinned = node.map { "pinned to node \($0)" } ?? "no longer pinned to a node"
                deployment.record(DeploymentEvent(at: now, version: version.number, message: pinned))
            }
            let writes = try Self.announcing(&deployment, pin: node, stored: replies)
            return .write(writes + [["SADD", StoreKeys.deployments, manifest.key.rawValue]], result)
        }
    }

    /// Appends a copy of version `number` as a new version (history is never rewritten) and
    /// announces the change, in one transaction.
    /// - Throws: ``StoreError`` if the deployment does not exist, or
    ///   ``MNCore/DeploymentError`` if the version does not or is already current.
    public func rollback(
        _ key: DeploymentKey, to number: Int, reason: String, pin: Pin, at now: Timestamp
    ) async throws -> ApplyResult {
        let recordKey = StoreKeys.deployment(key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(key)) { replies in
            guard var deployment = try Self.decodeRecord(replies) else { throw StoreError("no deployment '\(key)'") }
            let node = pin.resolve(for: deployment)
            let version = try deployment.rollback(to: number, reason: reason, at: now)
            return .write(
                try Self.announcing(&deployment, pin: node, stored: replies),
                ApplyResult(deployment: key, version: version.number, created: true, node: node))
        }
    }

    /// Starts another run of a batch or sysbatch deployment's latest version, and announces it
    /// (see ``MNCore/Deployment/rerun(at:)``).
    /// - Returns: The run, and the node it is pinned to, if any.
    public func rerun(_ key: DeploymentKey, pin: Pin, at now: Timestamp) async throws -> (run: BatchRun, node: NodeID?) {
        let recordKey = StoreKeys.deployment(key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(key)) { replies in
            guard var deployment = try Self.decodeRecord(replies) else { throw StoreError("no deployment '\(key)'") }
            let run = try deployment.rerun(at: now)
            let node = pin.resolve(for: deployment)
            return .write(try Self.announcing(&deployment, pin: node, stored: replies), (run, node))
        }
    }

    /// The writes of an operator's change that the controller acts on: the record (its
    /// revision bumped, `pin` remembered) and the announcement the controller watches for.
    private static func announcing(_ deployment: inout Deployment, pin: NodeID?, stored: [RedisReply]) throws -> [[String]] {
        deployment.revision += 1
        deployment.node = pin
        return try recordWrites(deployment, stored: stored) + [["PUBLISH", StoreKeys.changes, deployment.key.rawValue]]
    }

    /// A change of a deployment's status by an operator.
    public enum StatusChange: String, Sendable {
        case pause, resume, fail

        /// How an event says it happened.
        var pastTense: String {
            switch self {
            case .pause: "paused"
            case .resume: "resumed"
            case .fail: "failed"
            }
        }
    }

    /// Pauses, resumes or fails a deployment, records why as an event, and announces it.
    /// - Returns: The new status.
    /// - Throws: ``StoreError`` if the deployment does not exist or the change does not
    ///   apply to its status (resuming one that is not paused, for example).
    @discardableResult
    public func change(_ key: DeploymentKey, _ change: StatusChange, reason: String, at now: Timestamp) async throws -> DeploymentStatus {
        let recordKey = StoreKeys.deployment(key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(key)) { replies in
            guard var deployment = try Self.decodeRecord(replies) else { throw StoreError("no deployment '\(key)'") }
            let status: DeploymentStatus
            switch (change, deployment.status) {
            case (.pause, .paused): throw StoreError("deployment '\(key)' is already paused")
            case (.pause, _): status = .paused
            case (.resume, .paused):
                // A version paused before it was checked (no step of it taken, never settled) is
                // checked now; anything further along goes on deploying.
                status = deployment.latestWaitsForResume ? .validating : .deploying
            case (.resume, .failed)
            where deployment.failure?.phase == .validating && deployment.failure?.version == deployment.latest.number:
                // Validation failed and nothing started: check again (the image may be there now),
                // with the nodes' old verdicts dropped (below).
                status = .validating
                deployment.failure = nil
            case (.resume, let current):
                throw StoreError(
                    "deployment '\(key)' is \(current.rawValue), not paused (or failed in validation); nothing to resume")
            case (.fail, .failed): throw StoreError("deployment '\(key)' is already failed")
            case (.fail, let current):
                status = .failed
                deployment.failure = DeploymentFailure(version: deployment.latest.number, phase: current, reason: reason, at: now)
            }
            deployment.status = status
            deployment.record(DeploymentEvent(at: now, version: deployment.latest.number, message: "\(change.pastTense): \(reason)"))
            deployment.revision += 1
            let verdicts: [[String]] = status == .validating ? [["DEL", StoreKeys.verdicts(key)]] : []
            return .write(
                try Self.recordWrites(deployment, stored: replies) + verdicts + [["PUBLISH", StoreKeys.changes, key.rawValue]], status)
        }
    }

    /// What ``promote(_:at:)`` did.
    public enum Promotion: String, Sendable, Encodable {
        /// The first wave was healthy: promoted now.
        case promoted
        /// The first wave is not healthy yet: it is promoted as soon as it is.
        case queued
    }

    /// Promotes a canary or blue-green update: the rest of the units follow in batches (or the
    /// new version becomes primary) and the old version is retired. Before the first wave is
    /// healthy the promotion is queued and happens as soon as it is, so the answer never
    /// depends on when the controller last looked.
    /// - Throws: ``StoreError`` if the deployment is paused, or has no canary or blue-green
    ///   update in progress, or it is promoted already.
    @discardableResult
    public func promote(_ key: DeploymentKey, at now: Timestamp) async throws -> Promotion {
        let recordKey = StoreKeys.deployment(key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(key)) { replies in
            guard var deployment = try Self.decodeRecord(replies) else { throw StoreError("no deployment '\(key)'") }
            guard deployment.status != .paused else {
                throw StoreError("deployment '\(key)' is paused: nothing of it changes until it is resumed (mnctl deployment resume \(key)), then promote")
            }
            guard var rollout = deployment.rollout, deployment.status == .deploying,
                rollout.target == deployment.latest.number, rollout.needsPromotion
            else {
                throw StoreError("deployment '\(key)' has no canary or blue-green update in progress; nothing to promote")
            }
            guard rollout.promotedAt == nil else { throw StoreError("version \(rollout.target) of '\(key)' is already promoted") }
            guard rollout.promotionRequestedAt == nil || rollout.awaitingPromotion else {
                throw StoreError("the promotion of version \(rollout.target) of '\(key)' is queued already; it happens once the first wave is healthy")
            }
            let promotion: Promotion
            if rollout.awaitingPromotion {
                rollout.promotedAt = now
                rollout.lastProgressAt = now
                rollout.awaitingPromotion = false
                let what = rollout.strategy == .blueGreen ? "version \(rollout.target) promoted to primary" : "canaries promoted"
                deployment.record(DeploymentEvent(at: now, version: rollout.target, message: what))
                promotion = .promoted
            } else {
                rollout.promotionRequestedAt = now
                let wave = rollout.strategy == .blueGreen ? "version \(rollout.target)" : "the canaries"
                deployment.record(DeploymentEvent(at: now, version: rollout.target, message: "promotion queued: it happens once \(wave) are healthy"))
                promotion = .queued
            }
            deployment.rollout = rollout
            deployment.revision += 1
            return .write(try Self.recordWrites(deployment, stored: replies) + [["PUBLISH", StoreKeys.changes, key.rawValue]], promotion)
        }
    }

    /// Changes a deployment's record with `update` (in a transaction, retried if the record
    /// changed meanwhile); writes and announces nothing when `update` returns false.
    @discardableResult
    public func updateRecord(_ key: DeploymentKey, _ update: @Sendable @escaping (inout Deployment) -> Bool) async throws -> Bool {
        let recordKey = StoreKeys.deployment(key)
        return try await redis.transaction(watching: [recordKey], reads: Self.recordReads(key)) { replies in
            guard var deployment = try Self.decodeRecord(replies), update(&deployment) else { return .skip(false) }
            deployment.revision += 1
            return .write(try Self.recordWrites(deployment, stored: replies), true)
        }
    }

    /// One deployment's record, if it exists. The record is read before its versions, so the
    /// versions it counts are all there (the history only grows); versions already read are not
    /// fetched again.
    public func deployment(_ key: DeploymentKey) async throws -> Deployment? {
        try await deployment(key, from: try await redis.run("GET", StoreKeys.deployment(key)))
    }

    /// The deployment of `record` (a reply to `GET` of its record key), with its versions.
    func deployment(_ key: DeploymentKey, from record: RedisReply) async throws -> Deployment? {
        try await storedDeployment(key, from: record)?.deployment
    }

    /// The deployment of `record`, and how many of its versions are in its versions hash (none
    /// for a record from before versions were kept apart: it carries them inline).
    func storedDeployment(_ key: DeploymentKey, from record: RedisReply) async throws -> (deployment: Deployment, storedVersions: Int)? {
        guard let bytes = record.bytes else { return nil }
        struct Count: Decodable {
            let version_count: Int?
            let origin: String?
        }
        do {
            let stored = try? JSONDecoder().decode(Count.self, from: Data(bytes))
            let count = stored?.version_count
            let known = try await fetchVersions(of: key, count: count, origin: stored?.origin)
            return try Self.decodeRecord(record, versions: known).map { ($0, count ?? 0) }
        } catch let error as StoreError {
            // Name the deployment: one unreadable record stops the controller until it is fixed.
            throw StoreError("deployment '\(key)': \(error.description) (\(StoreKeys.deployment(key)), \(StoreKeys.versions(key)))")
        }
    }

    /// Versions 1 through `count` of `key` (every stored one when `count` is `nil`), oldest
    /// first: those read before, and the others fetched in one `HMGET` (`HGETALL` when the count
    /// is unknown) and remembered. Stops short at the first one the hash does not hold. Versions
    /// held from another history than `origin` (the record's) are not used.
    private func fetchVersions(of key: DeploymentKey, count: Int?, origin: String? = nil) async throws -> [DeploymentVersion] {
        var known = versions.held(of: key, origin: origin)
        guard let count else {
            let fetched = try Self.storedVersions(try await redis.run("HGETALL", StoreKeys.versions(key))).sorted { $0.number < $1.number }
            versions.remember(fetched, of: key, origin: origin)
            return fetched
        }
        guard known.count < count else { return Array(known.prefix(count)) }
        let missing = (known.count + 1)...count
        let replies = try await redis.run(["HMGET", StoreKeys.versions(key)] + missing.map(String.init)).array ?? []
        for reply in replies {
            guard let bytes = reply.bytes else { break }
            known.append(try Self.storedVersion(bytes))
        }
        versions.remember(known, of: key, origin: origin)
        return known
    }

    /// Every deployment, sorted by key.
    public func deployments() async throws -> [Deployment] {
        let keys = (try await redis.run("SMEMBERS", StoreKeys.deployments).array ?? []).compactMap(\.string).sorted()
        var result: [Deployment] = []
        for key in keys {
            if let deployment = try await deployment(DeploymentKey(key)) { result.append(deployment) }
        }
        return result
    }

    /// Which of `keys` name no deployment in the store (one `SMISMEMBER`).
    public func unknownDeployments(_ keys: Set<DeploymentKey>) async throws -> Set<DeploymentKey> {
        let asked = keys.sorted()
        guard !asked.isEmpty else { return [] }
        let replies = try await redis.run(["SMISMEMBER", StoreKeys.deployments] + asked.map(\.rawValue)).array ?? []
        return Set(zip(asked, replies).filter { $0.1 != .integer(1) }.map(\.0))
    }

    /// Version `number` of deployment `key`, from the versions read so far or else from Redis
    /// (versions never change, so each is fetched once per process); `nil` if it does not exist.
    /// With the `origin` of the deployment's history (an assignment names it), versions read
    /// from another history (before the store lost its data) are not used.
    public func version(_ key: DeploymentKey, _ number: Int, origin: String? = nil) async throws -> DeploymentVersion? {
        let known = try await fetchVersions(of: key, count: number, origin: origin)
        if known.count >= number { return known[number - 1] }
        // A record from before versions were kept apart carries them inline until its next write.
        return try await deployment(key)?.version(number)
    }

    /// What the controller assigned to `node`; `nil` when it never assigned it anything (a
    /// fresh or wiped store: not the same as "run nothing").
    public func assignment(of node: NodeID) async throws -> NodeAssignment? {
        try await assignments(of: [node])[node]
    }

    /// The assignments of `nodes` (those that have one), in one `MGET`.
    public func assignments(of nodes: [NodeID]) async throws -> [NodeID: NodeAssignment] {
        try await perNode(nodes, key: StoreKeys.assignment, what: "assignment") { node, bytes in
            try assignments.value(of: node, bytes: bytes) { try JSONDecoder().decode(NodeAssignment.self, from: Data($0)) }
        }
    }

    /// `node`'s verdict on a version of `key` it checked, if it gave one.
    public func verdict(on key: DeploymentKey, of node: NodeID) async throws -> ValidationVerdict? {
        guard let bytes = try await redis.run("HGET", StoreKeys.verdicts(key), node.rawValue).bytes else { return nil }
        return try? JSONDecoder().decode(ValidationVerdict.self, from: Data(bytes))
    }

    /// Stores `node`'s verdict on a version of `key` and tells the controller.
    public func write(_ verdict: ValidationVerdict, on key: DeploymentKey, of node: NodeID) async throws {
        try await redis.atomically([
            ["HSET", StoreKeys.verdicts(key), node.rawValue, try Self.encode(verdict)],
            ["PUBLISH", StoreKeys.reported, node.rawValue],
        ])
    }

    /// Writes a node's report and the time of the pass that made it, and tells the controller.
    public func write(_ report: NodeReport) async throws {
        try await redis.atomically([
            ["SET", StoreKeys.report(report.node), try Self.encode(report)],
            ["HSET", StoreKeys.nodes, report.node.rawValue, String(report.at.milliseconds)],
            ["PUBLISH", StoreKeys.reported, report.node.rawValue],
        ])
    }

    /// Records that `node`'s agent finished a pass at `time`.
    public func passFinished(on node: NodeID, at time: Timestamp) async throws {
        try await redis.run("HSET", StoreKeys.nodes, node.rawValue, String(time.milliseconds))
    }

    /// Whether `node` has a report in the store (a read, to find out whether Redis lost it).
    public func hasReport(of node: NodeID) async throws -> Bool {
        try await redis.run("EXISTS", StoreKeys.report(node)) == .integer(1)
    }

    /// A node's last report, if it wrote one.
    public func report(of node: NodeID) async throws -> NodeReport? {
        try await reports(of: [node])[node]
    }

    /// The last reports of `nodes` (those that wrote one), in one `MGET`.
    public func reports(of nodes: [NodeID]) async throws -> [NodeID: NodeReport] {
        try await perNode(nodes, key: StoreKeys.report, what: "report") { _, bytes in
            try JSONDecoder().decode(NodeReport.self, from: Data(bytes))
        }
    }

    /// The value each of `nodes` has under its `key` (those that have one), read in one `MGET`
    /// and decoded by `decode`; an undecodable one fails the read, naming the node and `what` it is.
    private func perNode<Value>(
        _ nodes: [NodeID], key: (NodeID) -> String, what: String, decode: (NodeID, [UInt8]) throws -> Value
    ) async throws -> [NodeID: Value] {
        guard !nodes.isEmpty else { return [:] }
        let replies = try await redis.run(["MGET"] + nodes.map(key)).array ?? []
        var values: [NodeID: Value] = [:]
        for (node, reply) in zip(nodes, replies) {
            guard let bytes = reply.bytes else { continue }
            do {
                values[node] = try decode(node, bytes)
            } catch {
                throw StoreError("the \(what) of node '\(node)' in Redis is unreadable (\(error)); it was left as it is")
            }
        }
        return values
    }

    /// Every node that ever finished a pass, with the time of its last one.
    public func nodes() async throws -> [NodeID: Timestamp] {
        let fields = try await redis.run("HGETALL", StoreKeys.nodes).array ?? []
        var result: [NodeID: Timestamp] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            if let node = fields[index].string, let at = fields[index + 1].string.flatMap(Int64.init) {
                result[NodeID(node)] = Timestamp(milliseconds: at)
            }
        }
        return result
    }

    /// The reads of a deployment: its record (status, events, …), then its versions.
    static func recordReads(_ key: DeploymentKey) -> [[String]] {
        [["GET", StoreKeys.deployment(key)], ["HGETALL", StoreKeys.versions(key)]]
    }

    /// A deployment from the replies to ``recordReads(_:)``; `nil` when it does not exist. Its
    /// versions are read lazily: a transaction uses one or two of them, and writes none back.
    static func decodeRecord(_ replies: [RedisReply]) throws -> Deployment? {
        let fields = replies[1].array ?? []
        let versions = stride(from: 0, to: fields.count - 1, by: 2).compactMap { index -> DeploymentVersion? in
            guard let number = fields[index].string.flatMap(Int.init), let bytes = fields[index + 1].bytes else { return nil }
            return DeploymentVersion(number: number, lazilyFrom: bytes)
        }
        return try decodeRecord(replies[0], versions: versions.sorted { $0.number < $1.number })
    }

    /// A deployment from its record and its versions (oldest first); `nil` when the record does not exist.
    private static func decodeRecord(_ record: RedisReply, versions: [DeploymentVersion]) throws -> Deployment? {
        guard let bytes = record.bytes else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[.deploymentVersions] = versions
            return try decoder.decode(Deployment.self, from: Data(bytes))
        } catch {
            throw StoreError("a deployment record in Redis is unreadable (\(error)); it was left as it is")
        }
    }

    /// The versions in an `HGETALL` reply of a versions hash.
    private static func storedVersions(_ reply: RedisReply) throws -> [DeploymentVersion] {
        let fields = reply.array ?? []
        return try stride(from: 1, to: fields.count, by: 2).map { try storedVersion(fields[$0].bytes ?? []) }
    }

    /// A version as its versions hash holds it.
    private static func storedVersion(_ bytes: [UInt8]) throws -> DeploymentVersion {
        do {
            return try DeploymentVersion(stored: bytes)
        } catch {
            throw StoreError("a stored deployment version in Redis is unreadable (\(error)); it was left as it is")
        }
    }

    /// The writes that store `deployment`: its record without the versions, and the versions
    /// not stored yet (given the replies to ``recordReads(_:)``). Versions never change, so a
    /// status change rewrites the record alone; a record from before versions were kept apart
    /// moves them out at its first write.
    static func recordWrites(_ deployment: Deployment, stored replies: [RedisReply]) throws -> [[String]] {
        let fields = replies.count > 1 ? (replies[1].array ?? []) : []
        return try recordWrites(deployment, stored: Set(stride(from: 0, to: fields.count, by: 2).compactMap { fields[$0].string.flatMap(Int.init) }))
    }

    /// The writes that store `deployment`, whose versions numbered `stored` are in Redis already.
    static func recordWrites(_ deployment: Deployment, stored: Set<Int>) throws -> [[String]] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.deploymentWithoutVersions] = true
        var writes = [["SET", StoreKeys.deployment(deployment.key), String(decoding: try encoder.encode(deployment), as: UTF8.self)]]
        var missing: [String] = []
        for version in deployment.versions where !stored.contains(version.number) {
            missing += [String(version.number), try encode(version)]
        }
        if !missing.isEmpty { writes.append(["HSET", StoreKeys.versions(deployment.key)] + missing) }
        return writes
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A store read or write that could not be done, with why.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
