/// The longest duration a policy field takes: 30 days, in milliseconds.
let maxDurationMs = 2_592_000_000

extension UpdatePolicy {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> UpdatePolicy? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let d = UpdatePolicy.defaults
        var policy = d
        policy.strategy = fields.optional("strategy") { $0.choice($1, at: $2, as: Strategy.self) } ?? d.strategy
        policy.maxParallel = fields.optional("max_parallel") { $0.int($1, at: $2, in: 1...10_000) } ?? d.maxParallel
        policy.canary = fields.optional("canary") { $0.int($1, at: $2) } ?? d.canary
        policy.minHealthyMs = fields.optional("min_healthy_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.minHealthyMs
        policy.healthyDeadlineMs =
            fields.optional("healthy_deadline_ms") { $0.int($1, at: $2, in: 1...maxDurationMs) } ?? d.healthyDeadlineMs
        policy.progressDeadlineMs =
            fields.optional("progress_deadline_ms") { $0.int($1, at: $2, in: 1...maxDurationMs) } ?? d.progressDeadlineMs
        policy.healthCheck = fields.optional("health_check") { $0.choice($1, at: $2, as: HealthSignal.self) } ?? d.healthCheck
        policy.autoPromote = fields.optional("auto_promote") { $0.bool($1, at: $2) } ?? d.autoPromote
        policy.autoRevert = fields.optional("auto_revert") { $0.bool($1, at: $2) } ?? d.autoRevert

        // Cross-field rules only where every field they name was readable, so a bad value
        // is reported once and never as a follow-on about a default that stood in for it.
        let problems = reader.problems
        let readable = { (key: String) in !fields.has(key) || problems.problems.allSatisfy { $0.path != path.appending(key).description } }
        if readable("strategy") {
            if policy.strategy == .canary && policy.canary < 1 && readable("canary") {
                problems.add(path.appending("canary"), "must be at least 1 when strategy is 'canary', got \(policy.canary)")
            }
            if policy.strategy != .canary && policy.canary > 0 {
                problems.add(
                    path.appending("canary"),
                    "is only used with strategy 'canary' (strategy is '\(policy.strategy.rawValue)'); set strategy to 'canary' or remove canary"
                )
            }
            if policy.strategy == .rolling && policy.autoPromote {
                problems.add(path.appending("auto_promote"), "is only used with strategy 'canary' or 'blue-green'; remove it for 'rolling'")
            }
        }
        if policy.minHealthyMs >= policy.healthyDeadlineMs && readable("min_healthy_ms") && readable("healthy_deadline_ms") {
            problems.add(
                path.appending("min_healthy_ms"),
                "must be less than healthy_deadline_ms (\(policy.healthyDeadlineMs)), got \(policy.minHealthyMs)")
        }
        if policy.progressDeadlineMs < policy.healthyDeadlineMs && readable("progress_deadline_ms") && readable("healthy_deadline_ms") {
            problems.add(
                path.appending("progress_deadline_ms"),
                "must be at least healthy_deadline_ms (\(policy.healthyDeadlineMs)), got \(policy.progressDeadlineMs)")
        }
        return policy
    }
}

extension RestartPolicy {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> RestartPolicy? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let d = RestartPolicy.defaults
        var policy = d
        policy.attempts = fields.optional("attempts") { $0.int($1, at: $2, in: 0...10_000) } ?? d.attempts
        policy.intervalMs = fields.optional("interval_ms") { $0.int($1, at: $2, in: 1...maxDurationMs) } ?? d.intervalMs
        policy.delayMs = fields.optional("delay_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.delayMs
        policy.delayFunction = fields.optional("delay_function") { $0.choice($1, at: $2, as: DelayFunction.self) } ?? d.delayFunction
        policy.maxDelayMs = fields.optional("max_delay_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.maxDelayMs
        policy.mode = fields.optional("mode") { $0.choice($1, at: $2, as: Mode.self) } ?? d.mode
        if policy.maxDelayMs < policy.delayMs {
            reader.problems.add(
                path.appending("max_delay_ms"), "must be at least delay_ms (\(policy.delayMs)), got \(policy.maxDelayMs)")
        }
        return policy
    }
}

extension ReschedulePolicy {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> ReschedulePolicy? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        let d = ReschedulePolicy.defaults
        var policy = d
        policy.unlimited = fields.optional("unlimited") { $0.bool($1, at: $2) } ?? d.unlimited
        policy.attempts = fields.optional("attempts") { $0.int($1, at: $2, in: 0...10_000) } ?? d.attempts
        policy.intervalMs = fields.optional("interval_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.intervalMs
        policy.delayMs = fields.optional("delay_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.delayMs
        policy.delayFunction = fields.optional("delay_function") { $0.choice($1, at: $2, as: DelayFunction.self) } ?? d.delayFunction
        policy.maxDelayMs = fields.optional("max_delay_ms") { $0.int($1, at: $2, in: 0...maxDurationMs) } ?? d.maxDelayMs
        if policy.unlimited && (fields.has("attempts") || fields.has("interval_ms")) {
            reader.problems.add(
                path.appending("unlimited"), "is true, so attempts and interval_ms are not used; set unlimited to false or remove them")
        }
        if !policy.unlimited && policy.attempts > 0 && policy.intervalMs < 1 {
            reader.problems.add(path.appending("interval_ms"), "must be at least 1 when attempts is set, got \(policy.intervalMs)")
        }
        if policy.maxDelayMs < policy.delayMs {
            reader.problems.add(
                path.appending("max_delay_ms"), "must be at least delay_ms (\(policy.delayMs)), got \(policy.maxDelayMs)")
        }
        return policy
    }
}

extension Policies {
    static func read(_ reader: DocumentReader, _ value: JSONValue, _ path: FieldPath) -> Policies? {
        guard let fields = reader.object(value, at: path) else { return nil }
        defer { fields.finish() }
        // `scheduler.job_type` (seed 002) is the manifest's `type`, read there; checked here.
        _ = fields.optional("scheduler") { r, v, p -> Manifest.JobType? in
            guard let scheduler = r.object(v, at: p) else { return nil }
            defer { scheduler.finish() }
            return scheduler.required("job_type") { $0.choice($1, at: $2, as: Manifest.JobType.self) }
        }
        return Policies(
            update: fields.optional("update", UpdatePolicy.read) ?? .defaults,
            restart: fields.optional("restart", RestartPolicy.read) ?? .defaults,
            reschedule: fields.optional("reschedule", ReschedulePolicy.read) ?? .defaults)
    }
}
