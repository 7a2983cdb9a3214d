import Foundation
import Testing

@testable import MNCore

@Suite("Deployment records")
struct DeploymentTests {
    func manifest(image: String, key: String = "web") throws -> Manifest {
        try Manifest.parse(Data(#"{"deployment":{"key":"\#(key)"},"agents":[{"id":"web","image":"\#(image)"}]}"#.utf8))
    }

    @Test("versions are numbered from 1 and the same manifest adds none")
    func appendOnly() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        #expect(deployment.latest.number == 1)
        #expect(deployment.id == DeploymentID("web@1"))

        guard case .appended(let v2) = try deployment.append(try manifest(image: "a:2"), at: Timestamp(milliseconds: 2)) else {
            Issue.record("a changed manifest must append")
            return
        }
        #expect(v2.number == 2)
        #expect(try deployment.append(try manifest(image: "a:2"), at: Timestamp(milliseconds: 3)) == .unchanged(v2))
        #expect(deployment.versions.map(\.number) == [1, 2])
    }

    @Test("a stored version reads back the same with MNCore's parser as with Foundation's decoder, for every example and source")
    func storedVersionReadsBack() throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: "Examples").filter { $0.hasPrefix("web-") }.sorted()
        try #require(!examples.isEmpty)
        let sources: [VersionSource] = [.applied, .rollback(from: 1, reason: "bad \"canary\""), .autoRevert(from: 2, reason: "deadline")]
        for (index, example) in examples.enumerated() {
            let manifest = try Manifest.parse(Data(contentsOf: URL(fileURLWithPath: "Examples/\(example)")))
            let version = DeploymentVersion(
                number: index + 1, manifest: manifest, contentHash: manifest.contentHash, createdAt: Timestamp(milliseconds: 1_700_000_000_123),
                source: sources[index % sources.count], bundle: index % 2 == 0 ? "bundles/web" : nil)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let bytes = Array(try encoder.encode(version))
            let stored = try DeploymentVersion(stored: bytes)
            #expect(stored == version, "\(example)")
            #expect(stored == (try JSONDecoder().decode(DeploymentVersion.self, from: Data(bytes))), "\(example)")
            // Read lazily: nothing but the number until a field is used, then the same version.
            let lazy = DeploymentVersion(number: index + 1, lazilyFrom: bytes)
            #expect(lazy.number == index + 1 && !lazy.isRead)
            #expect(lazy == version && lazy.isRead, "\(example)")
        }
        #expect(throws: (any Error).self) { try DeploymentVersion(stored: Array(#"{"number":1}"#.utf8)) }
        // A manifest that does not have its content hash is refused by both readers.
        let manifest = try manifest(image: "a:1")
        let forged = DeploymentVersion(number: 1, manifest: manifest, contentHash: SpecHash(of: [1]), createdAt: Timestamp(milliseconds: 1), source: .applied)
        let bytes = Array(try JSONEncoder().encode(forged))
        #expect(throws: (any Error).self) { try DeploymentVersion(stored: bytes) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(DeploymentVersion.self, from: Data(bytes)) }
    }

    @Test("a rollback appends a copy of the old version and keeps history")
    func rollbackCopies() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        _ = try deployment.append(try manifest(image: "a:2"), at: Timestamp(milliseconds: 2))
        let before = deployment.versions
        let v3 = try deployment.rollback(to: 1, reason: "restore stable worker", at: Timestamp(milliseconds: 3))
        #expect(v3.number == 3)
        #expect(v3.manifest == before[0].manifest)
        #expect(v3.source == .rollback(from: 1, reason: "restore stable worker"))
        #expect(Array(deployment.versions.prefix(2)) == before)
        #expect(throws: DeploymentError.self) { try deployment.rollback(to: 9, reason: "x", at: Timestamp(milliseconds: 4)) }
        #expect(throws: DeploymentError.self) { try deployment.rollback(to: 1, reason: "x", at: Timestamp(milliseconds: 4)) }
    }

    @Test("a manifest for another key is refused")
    func otherKey() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        #expect(throws: DeploymentError.self) {
            try deployment.append(try manifest(image: "a:1", key: "other"), at: Timestamp(milliseconds: 2))
        }
    }

    @Test("a record round-trips, and one with a gap in its versions is refused")
    func decoding() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        _ = try deployment.append(try manifest(image: "a:2"), at: Timestamp(milliseconds: 2))
        let data = try JSONEncoder().encode(deployment)
        #expect(try JSONDecoder().decode(Deployment.self, from: data) == deployment)

        guard case .object(var fields) = try JSONDecoder().decode(JSONValue.self, from: data),
            case .array(var versions)? = fields["versions"]
        else {
            Issue.record("a record encodes as an object with versions")
            return
        }
        versions.removeFirst()
        fields["versions"] = .array(versions)
        let gapped = try JSONEncoder().encode(JSONValue.object(fields))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Deployment.self, from: gapped) }
    }

    @Test("events are capped at the record's limit, newest kept")
    func eventCap() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 0))
        for i in 1...(Deployment.eventLimit + 10) {
            deployment.record(DeploymentEvent(at: Timestamp(milliseconds: Int64(i)), version: 1, message: "e\(i)"))
        }
        #expect(deployment.events.count == Deployment.eventLimit)
        #expect(deployment.events.last?.message == "e\(Deployment.eventLimit + 10)")
    }

    @Test("an automatic revert is a source of its own; records from before read their prefixed rollbacks as one")
    func autoRevertSource() throws {
        let decoder = JSONDecoder()
        func source(_ json: String) throws -> VersionSource { try decoder.decode(VersionSource.self, from: Data(json.utf8)) }
        #expect(try source(#"{"applied":{}}"#) == .applied)
        #expect(try source(#"{"rollback":{"from":1,"reason":"restore"}}"#) == .rollback(from: 1, reason: "restore"))
        #expect(try source(#"{"rollback":{"from":1,"reason":"auto-revert: deadline"}}"#) == .autoRevert(from: 1, reason: "deadline"))
        #expect(try source(#"{"auto_revert":{"from":2,"reason":"deadline"}}"#) == .autoRevert(from: 2, reason: "deadline"))
        #expect(throws: DecodingError.self) { try source(#"{"copied":{}}"#) }
        for value in [VersionSource.applied, .rollback(from: 1, reason: "r"), .autoRevert(from: 3, reason: "deadline")] {
            #expect(try decoder.decode(VersionSource.self, from: JSONEncoder().encode(value)) == value)
        }

        var policies = Policies.defaults
        policies.update.autoRevert = true
        var deployment = Deployment(
            first: Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("a:1"))], policies: policies), at: Timestamp(milliseconds: 1))
        deployment.markStable(1)
        _ = try deployment.append(
            Manifest(key: "web", agents: [AgentSpec(id: "web", workload: .image("a:2"))], policies: policies), at: Timestamp(milliseconds: 2))
        let reverting = deployment.revertAfterFailure(of: 2, reason: "deadline", at: Timestamp(milliseconds: 3))
        let revert = try #require(reverting)
        #expect(revert.source == .autoRevert(from: 1, reason: "deadline") && revert.isAutoRevert)
        #expect(deployment.events.last?.message == "version 3 created (reverted to version 1 after a failed update: deadline)")
        #expect(deployment.revertAfterFailure(of: 3, reason: "again", at: Timestamp(milliseconds: 4)) == nil, "a revert is never reverted")
    }

    @Test("a version added while paused stays paused and waits for resume; nothing else changes")
    func appendWhilePaused() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        deployment.markStable(1)
        deployment.status = .paused
        #expect(!deployment.latestWaitsForResume)
        _ = try deployment.append(try manifest(image: "a:2"), at: Timestamp(milliseconds: 2))
        #expect(deployment.status == .paused && deployment.latestWaitsForResume)
        #expect(deployment.events.last?.message == "version 2 created (applied); paused: it waits for resume")
    }

    @Test("the stable version before the current one is kept: where a rollback returns to")
    func previousStable() throws {
        var deployment = Deployment(first: try manifest(image: "a:1"), at: Timestamp(milliseconds: 1))
        deployment.markStable(1)
        #expect(deployment.rollbackTarget == 1 && deployment.previousStable == nil)
        deployment.markStable(2)
        deployment.markStable(2)
        #expect(deployment.rollbackTarget == 2 && deployment.previousStable == 1)
        let decoded = try JSONDecoder().decode(Deployment.self, from: JSONEncoder().encode(deployment))
        #expect(decoded.previousStable == 1)
    }
}
