import AsyncHTTPClient
import Foundation
public import MNCore
public import MNReconcile
import NIOCore
import NIOPosix

/// Runs one health check against one container.
public protocol HealthProber: Sendable {
    /// Runs `check` against `container`, within the check's timeout.
    func probe(_ check: HealthCheck, container: ContainerID, at time: Timestamp) async -> CheckResult
}

/// Runs checks the way podman cannot without systemd: http and tcp against the container's
/// address on its network, exec through podman's exec API.
public struct PodmanHealthProber: HealthProber {
    public let runtime: PodmanRuntime

    /// Probes containers of `runtime`.
    public init(runtime: PodmanRuntime) { self.runtime = runtime }

    public func probe(_ check: HealthCheck, container: ContainerID, at time: Timestamp) async -> CheckResult {
        func result(_ passed: Bool, _ reason: String? = nil) -> CheckResult {
            CheckResult(check: check.name, passed: passed, at: time, reason: passed ? nil : reason)
        }
        do {
            switch check.probe {
            case .exec(let command):
                guard let code = try await runtime.exec(command, in: container, timeoutMs: check.timeoutMs) else {
                    return result(false, "timed out after \(check.timeoutMs) ms")
                }
                return result(code == 0, "exited \(code)")
            case .http(let port, let path):
                guard let address = try await runtime.address(of: container) else { return result(false, "the container has no network") }
                var request = HTTPClientRequest(url: "http://\(address):\(port)\(path)")
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(check.timeoutMs)))
                _ = try? await response.body.collect(upTo: 1 << 20)
                return result((200..<300).contains(Int(response.status.code)), "HTTP \(response.status.code)")
            case .tcp(let port):
                guard let address = try await runtime.address(of: container) else { return result(false, "the container has no network") }
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.milliseconds(Int64(check.timeoutMs)))
                    .connect(host: address, port: port).get()
                try? await channel.close()
                return result(true)
            }
        } catch {
            return result(false, "\(error)")
        }
    }
}
