/// What a node's agent registers about its host: the node registry's entry, read by the
/// controller to place instances and by `mnctl node …` to show the cluster.
public struct NodeInfo: Hashable, Sendable, Codable {
    public var id: NodeID
    /// The address other hosts and clients reach this node at.
    public var address: String
    public var os: String
    public var arch: String
    public var hostname: String
    /// Operator-set attributes from the agent config, named `meta.KEY` in constraints.
    public var meta: [String: String]
    /// What instances may use in all.
    public var capacity: NodeCapacity
    public var devices: [NodeDevice]
    /// Whether new instances may be placed here (an operator can mark a node ineligible).
    public var eligible: Bool
    /// Whether the node is being drained: nothing new is placed, what runs moves away.
    public var draining: Bool

    /// Creates an entry; attributes default to empty, the node to eligible and not draining.
    public init(
        id: NodeID, address: String = "", os: String = "linux", arch: String = "x86_64", hostname: String = "",
        meta: [String: String] = [:], capacity: NodeCapacity, devices: [NodeDevice] = [], eligible: Bool = true,
        draining: Bool = false
    ) {
        self.id = id
        self.address = address
        self.os = os
        self.arch = arch
        self.hostname = hostname
        self.meta = meta
        self.capacity = capacity
        self.devices = devices
        self.eligible = eligible
        self.draining = draining
    }

    /// The value of `attribute` on this node, `nil` when the node does not have it.
    public func value(of attribute: NodeAttribute) -> String? {
        switch attribute {
        case .nodeID: id.rawValue
        case .os: os
        case .arch: arch
        case .hostname: hostname
        case .meta(let key): meta[key]
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, address, os, arch, hostname, meta, capacity, devices, eligible, draining
    }
}

/// CPU and memory a node offers to instances.
public struct NodeCapacity: Hashable, Sendable, Codable {
    /// CPU in thousandths of a core.
    public var cpuMillis: Int
    public var memoryMB: Int

    /// Creates a capacity.
    public init(cpuMillis: Int, memoryMB: Int) {
        self.cpuMillis = cpuMillis
        self.memoryMB = memoryMB
    }

    enum CodingKeys: String, CodingKey {
        case cpuMillis = "cpu_millis"
        case memoryMB = "memory_mb"
    }
}

/// One device of a node that instances can be given, such as a GPU.
public struct NodeDevice: Hashable, Sendable, Codable {
    /// Unique on the node; what an instance is given (`MN_DEVICE_IDS`), e.g. a GPU's index.
    public var id: String
    /// The device class, e.g. `gpu` (what `resources.devices[].kind` asks for).
    public var kind: String
    public var driver: String?
    /// The model, e.g. `NVIDIA A100-SXM4-40GB`.
    public var name: String?
    public var memoryMB: Int?

    /// Creates a device.
    public init(id: String, kind: String, driver: String? = nil, name: String? = nil, memoryMB: Int? = nil) {
        self.id = id
        self.kind = kind
        self.driver = driver
        self.name = name
        self.memoryMB = memoryMB
    }

    /// Whether this device is what `request` asks for (kind, driver, memory), one of its `count`.
    public func fits(_ request: DeviceRequest) -> Bool {
        kind == request.kind && (request.driver == nil || driver == request.driver)
            && (request.minMemoryMB.map { memoryMB ?? 0 >= $0 } ?? true)
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, driver, name
        case memoryMB = "memory_mb"
    }
}
