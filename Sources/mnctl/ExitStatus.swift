import ArgumentParser

/// mnctl's exit codes, as `mnctl --help` documents them.
enum ExitStatus {
    /// A deployment ended Failed or RolledBack (`--wait`, `--watch`), or the store refused the
    /// change (already paused, nothing to promote, …).
    static let failed = ExitCode(1)
    /// A usage error (an unknown command or flag, a bad flag value) or an invalid manifest.
    static let invalid = ExitCode(2)
    /// Redis could not be reached (or a local one started).
    static let unreachable = ExitCode(3)

    /// The text `mnctl --help` ends with.
    static let documentation = """
        Exit codes: 0 done; 1 failed (a deployment ended Failed or RolledBack under --wait or --watch, or the change was refused); \
        2 usage error or invalid manifest; 3 Redis unreachable.
        """

    /// The exit code for `error` as the argument parser would report it, with its usage
    /// errors (64) mapped to 2. (Store failures never get here: ``withStore(_:_:)`` maps them.)
    static func code(for error: Error, of command: ParsableCommand.Type) -> ExitCode {
        let code = command.exitCode(for: error)
        return code == .validationFailure ? invalid : code
    }
}
