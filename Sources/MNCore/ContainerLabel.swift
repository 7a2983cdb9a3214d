/// The labels mn puts on every container it creates. A container is mn's exactly
/// when it carries ``deploymentKey``; containers without it are never touched, and an
/// agent touches only those whose ``node`` is its own.
public enum ContainerLabel {
    public static let deploymentKey = "mn.deployment.key"
    /// The node whose agent created it; an agent touches only its own node's containers.
    public static let node = "mn.node"
    public static let deploymentVersion = "mn.deployment.version"
    public static let agent = "mn.agent"
    /// The instance index.
    public static let instance = "mn.instance"
    public static let specHash = "mn.spec-hash"
    /// primary, canary or candidate at creation.
    public static let role = "mn.role"
    /// The stop signal baked in at create, so the container is stopped as its own spec said.
    public static let stopSignal = "mn.stop-signal"
    /// The grace period of its own spec, in milliseconds.
    public static let gracePeriodMs = "mn.grace-ms"
    /// How long it is out of discovery before it is stopped, in milliseconds (present only on
    /// containers whose agent offers services).
    public static let shutdownDelayMs = "mn.shutdown-delay-ms"
}

/// An instance's place in a rollout (DESIGN vocabulary).
public enum InstanceRole: String, CaseIterable, Hashable, Sendable, Codable {
    case primary
    case canary
    case candidate
}
