import Glibc
import Synchronization

/// A child process started with `posix_spawn`: no shell, arguments passed as they are,
/// standard streams to `/dev/null` (or a log file), and a clean signal state — every
/// signal unblocked and at its default — so the child stops on SIGTERM even when the
/// spawning thread had signals blocked. Reaped with `waitpid`.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The exit status once reaped; after that the pid may belong to another process.
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` (an absolute path) with `arguments`.
    /// - Parameter logFile: Where its output goes; `nil` discards it.
    public init(executable: String, arguments: [String], logFile: String? = nil) throws(ProcessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let output = logFile ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pointers = argv + [nil]
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, &pointers, environ)
        guard status == 0 else {
            throw ProcessError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
    }

    /// Sends `signal` to the child, unless it has already been reaped.
    public func signal(_ signal: Int32) {
        exitStatus.withLock { status in
            if status == nil { kill(pid, signal) }
        }
    }

    /// The exit status (128 + signal if killed) if the child has ended; reaps it then.
    public var exitCode: Int32? {
        exitStatus.withLock { stored in
            if let stored { return stored }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            let signalled = status & 0x7f
            stored = signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
            return stored
        }
    }

    /// Whether the child has ended (and reaps it if so).
    public var hasExited: Bool { exitCode != nil }

    /// Waits for the child to end without blocking a thread; after `killAfter` it is sent
    /// SIGKILL. Returns its exit status.
    @discardableResult
    public func exit(killAfter: Duration = .seconds(30)) async -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: killAfter)
        var killed = false
        while true {
            if let code = exitCode { return code }
            if !killed && ContinuousClock.now >= deadline {
                signal(SIGKILL)
                killed = true
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The absolute path of `name` on `PATH` (or the usual system folders).
    public static func find(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"] {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A child process that could not be started.
public struct ProcessError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
