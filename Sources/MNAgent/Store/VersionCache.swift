import Synchronization
public import MNCore

/// The versions of deployments a store has read, by key. Versions never change once written
/// and the history only grows, so a reader needs to fetch them again only when a record counts
/// more than it holds.
public final class VersionCache: Sendable {
    private let versions = Mutex<[DeploymentKey: [DeploymentVersion]]>([:])

    /// An empty cache.
    public init() {}

    /// The first `count` versions of `key`, if all of them are held.
    func versions(of key: DeploymentKey, count: Int) -> [DeploymentVersion]? {
        versions.withLock { held in
            guard let known = held[key], known.count >= count else { return nil }
            return Array(known.prefix(count))
        }
    }

    /// Holds `fetched` (all of `key`'s versions, oldest first) unless more are held already.
    func remember(_ fetched: [DeploymentVersion], of key: DeploymentKey) {
        versions.withLock { held in
            if (held[key]?.count ?? 0) < fetched.count { held[key] = fetched }
        }
    }
}
