import Testing

/// Every suite that starts real processes (redis-server, podman) or changes the process
/// environment runs inside this one, one at a time: they share the host's podman and the
/// environment, and would otherwise interfere.
@Suite("Real processes", .serialized)
enum RealProcesses {}
