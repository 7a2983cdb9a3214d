import Synchronization
public import MNCore

/// The versions of deployments a store has read, by key. Versions never change once written
/// and the history only grows, so a reader fetches only those a record counts beyond what it holds.
public final class VersionCache: Sendable {
    private let versions = Mutex<[DeploymentKey: [DeploymentVersion]]>([:])

    /// An empty cache.
    public init() {}

    /// The versions of `key` held, oldest first (the first ones, without gaps).
    func held(of key: DeploymentKey) -> [DeploymentVersion] {
        versions.withLock { $0[key] ?? [] }
    }

    /// Holds `fetched` (`key`'s first versions, oldest first) unless more are held already.
    func remember(_ fetched: [DeploymentVersion], of key: DeploymentKey) {
        versions.withLock { held in
            if (held[key]?.count ?? 0) < fetched.count { held[key] = fetched }
        }
    }
}
