public import MNCore

extension NodeReconciler {
    /// A node's containers chained per desired instance, for one reconcile.
    ///
    /// Instances are grouped by deployment key and agent, and within a group found by index
    /// in an array: grouping N containers costs a few string comparisons each (runs of one
    /// agent are the common case), not a hash of their identity.
    struct ContainerIndex {
        private struct Group: Hashable {
            let key: DeploymentKey
            let agent: AgentID
        }

        private var groups: [Group: Int] = [:]
        /// Per group, per instance index: the last container added, or -1.
        private var heads: [[Int]] = []
        /// Per container: the container added before it to the same instance, or -1.
        private var next: [Int]
        /// Per container: what the steady case reads, copied out of the container when it is
        /// added (see ``Glance``).
        private var glances: [Glance]
        /// The last group looked up, to skip the hash while a run of one agent goes on.
        private var last: (group: Group, index: Int?)?

        /// An index for the instances of `desired`, over `containers` containers.
        init(desired: [DesiredInstance], containers: Int) {
            next = Array(repeating: -1, count: containers)
            glances = Array(repeating: .none, count: containers)
            for position in desired.indices {
                let id = desired[position].id  // the id only: copying whole instances costs
                let group: Int
                if let found = lookUp(id) {
                    group = found
                } else {
                    group = heads.count
                    heads.append([])
                    groups[Group(key: id.key, agent: id.agent)] = group
                    last = nil
                }
                if heads[group].count <= id.index {
                    heads[group].append(contentsOf: repeatElement(-1, count: id.index + 1 - heads[group].count))
                }
            }
        }

        /// Adds container number `container`, `observed`, labelled for `id` (ignored when no
        /// desired instance has that identity: it is a stray).
        mutating func add(_ container: Int, _ observed: ObservedContainer, for id: InstanceID) {
            guard let group = lookUp(id), id.index < heads[group].count else { return }
            next[container] = heads[group][id.index]
            heads[group][id.index] = container
            glances[container] = Glance(observed)
        }

        /// The container added for `id`, if exactly one was.
        mutating func onlyContainer(of id: InstanceID) -> Int? {
            guard let group = lookUp(id), id.index < heads[group].count else { return nil }
            let head = heads[group][id.index]
            return head >= 0 && next[head] < 0 ? head : nil
        }

        /// Whether container number `container` was alive and of spec `hash` when it was added.
        func isAlive(_ container: Int, withSpec hash: SpecHash) -> Bool {
            glances[container].isAlive && glances[container].specHash == hash
        }

        /// The id of container number `container`.
        func id(of container: Int) -> ContainerID { glances[container].id }

        /// The health container number `container` reported.
        func health(of container: Int) -> ObservedContainer.Health { glances[container].health }

        /// The containers added for `id` (the last added first).
        mutating func containers(of id: InstanceID) -> ContainerChain {
            guard let group = lookUp(id), id.index < heads[group].count else { return ContainerChain(links: next, current: -1) }
            return ContainerChain(links: next, current: heads[group][id.index])
        }

        private mutating func lookUp(_ id: InstanceID) -> Int? {
            if let last, last.group.key == id.key, last.group.agent == id.agent { return last.index }
            let group = Group(key: id.key, agent: id.agent)
            let index = groups[group]
            last = (group, index)
            return index
        }
    }

    /// The few facts about a container that the steady case needs, kept side by side.
    ///
    /// Indexing reads each container once, in the order they come. Reading them again while
    /// deciding, one instance after another, would fetch each from memory a second time, and
    /// every reference count taken in between waits for that fetch: at 100k containers that
    /// was a third of a pass.
    struct Glance {
        var id: ContainerID
        var specHash: SpecHash?
        var isAlive: Bool
        var health: ObservedContainer.Health

        /// The glance of a container not (yet) added.
        static let none = Glance(id: ContainerID(""), specHash: nil, isAlive: false, health: .none)

        private init(id: ContainerID, specHash: SpecHash?, isAlive: Bool, health: ObservedContainer.Health) {
            self.id = id
            self.specHash = specHash
            self.isAlive = isAlive
            self.health = health
        }

        init(_ container: ObservedContainer) {
            id = container.id
            specHash = container.specHash
            isAlive = container.isAlive
            health = container.health
        }
    }

    /// Container numbers linked through a ``ContainerIndex``.
    struct ContainerChain: Sequence, IteratorProtocol {
        let links: [Int]
        var current: Int

        mutating func next() -> Int? {
            guard current >= 0 else { return nil }
            defer { current = links[current] }
            return current
        }
    }
}
