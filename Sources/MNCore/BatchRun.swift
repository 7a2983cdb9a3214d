/// How a batch run ended.
public enum RunOutcome: Hashable, Sendable, CustomStringConvertible {
    /// Every instance exited 0.
    case complete
    /// An instance failed for good.
    case failed(reason: String)

    /// `complete`, or `failed: <reason>`: also how records store it.
    public var description: String {
        switch self {
        case .complete: "complete"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}

extension RunOutcome: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text == "complete" {
            self = .complete
        } else if text.hasPrefix("failed") {
            self = .failed(reason: text.hasPrefix("failed: ") ? String(text.dropFirst("failed: ".count)) : "")
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a run outcome is 'complete' or 'failed: <reason>', got '\(text)'"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One run of a batch or sysbatch deployment: which version ran, when, and how it ended.
///
/// Batch jobs are not updated in place: every new version starts a new run, and `mnctl
/// deployment rerun` starts another run of the latest version. Runs are history, appended only.
public struct BatchRun: Hashable, Sendable, Codable {
    /// 1 for the first run, then one more for each.
    public let number: Int
    public let version: Int
    public let startedAt: Timestamp
    /// When every instance completed, or one failed for good; `nil` while it runs.
    public var finishedAt: Timestamp?
    /// How it ended, once finished.
    public var outcome: RunOutcome?

    /// Creates a run that starts now.
    public init(number: Int, version: Int, startedAt: Timestamp) {
        self.number = number
        self.version = version
        self.startedAt = startedAt
    }

    /// Whether the run has ended.
    public var isFinished: Bool { finishedAt != nil }

    enum CodingKeys: String, CodingKey {
        case number, version, outcome
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

extension Deployment {
    /// Starts another run of the latest version of a batch or sysbatch deployment.
    ///
    /// - Throws: ``DeploymentError`` for a service or system deployment (they run until
    ///   stopped), or while the last run is still in progress.
    public mutating func rerun(at time: Timestamp) throws(DeploymentError) -> BatchRun {
        guard !latest.manifest.type.isLongRunning else {
            throw DeploymentError(
                "deployment '\(key)' is a \(latest.manifest.type.rawValue) job, which runs until stopped; only batch and sysbatch jobs are rerun"
            )
        }
        if status == .failed, let failure, failure.phase == .validating, failure.version == latest.number {
            throw DeploymentError(
                "version \(failure.version) of '\(key)' failed validation (\(failure.reason)); fix that, then `mnctl deployment resume \(key)` runs it"
            )
        }
        if let last = runs.last, !last.isFinished {
            throw DeploymentError(
                "run \(last.number) of '\(key)' is still in progress; rerun once it has finished (mnctl deployment status \(key))")
        }
        return startRun(at: time)
    }

    /// Records that run `number` ended with `outcome`; a run that already ended is left as it
    /// was. The deployment is Running after a complete last run, and Failed (with the reason)
    /// after a failed one.
    /// - Returns: Whether anything changed.
    @discardableResult
    public mutating func finishRun(_ number: Int, outcome: RunOutcome, at time: Timestamp) -> Bool {
        guard let index = runs.firstIndex(where: { $0.number == number }), !runs[index].isFinished else { return false }
        runs[index].finishedAt = time
        runs[index].outcome = outcome
        record(DeploymentEvent(at: time, version: runs[index].version, message: "run \(number) \(outcome)"))
        if index == runs.count - 1, status != .paused {
            if case .failed = outcome {
                status = .failed
                failure = DeploymentFailure(version: runs[index].version, phase: .running, reason: "run \(number) \(outcome)", at: time)
            } else {
                status = .running
            }
        }
        return true
    }

    /// Appends a run of the latest version.
    mutating func startRun(at time: Timestamp) -> BatchRun {
        let run = BatchRun(number: runs.count + 1, version: latest.number, startedAt: time)
        runs.append(run)
        record(DeploymentEvent(at: time, version: run.version, message: "run \(run.number) started"))
        return run
    }
}
