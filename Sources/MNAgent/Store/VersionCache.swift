import Synchronization
public import MNCore

/// The versions of deployments a store has read, by key. Versions never change once written
/// and the history only grows, so a reader fetches only those a record counts beyond what it
/// holds — as long as the history is the same one: a store that lost its data may hold another
/// history under the same key, with another ``MNCore/Deployment/origin``.
public final class VersionCache: Sendable {
    private struct Entry {
        /// The origin of the history these versions are from, if the reader knew it.
        var origin: String?
        var versions: [DeploymentVersion]
    }

    private let entries = Mutex<[DeploymentKey: Entry]>([:])

    /// An empty cache.
    public init() {}

    /// The versions of `key` held, oldest first (the first ones, without gaps); none when
    /// `origin` is given and they are not known to be of that history.
    func held(of key: DeploymentKey, origin: String? = nil) -> [DeploymentVersion] {
        entries.withLock { entries in
            guard let entry = entries[key] else { return [] }
            if let origin, entry.origin != origin { return [] }
            return entry.versions
        }
    }

    /// Holds `fetched` (`key`'s first versions, oldest first, of the history `origin` if the
    /// reader knows it) unless as many or more of the same history are held already.
    func remember(_ fetched: [DeploymentVersion], of key: DeploymentKey, origin: String? = nil) {
        entries.withLock { entries in
            guard let entry = entries[key], origin == nil || entry.origin == origin else {
                entries[key] = Entry(origin: origin, versions: fetched)
                return
            }
            if entry.versions.count < fetched.count { entries[key]?.versions = fetched }
        }
    }
}
