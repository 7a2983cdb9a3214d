import Foundation
public import MNCore

extension PodmanRuntime {
    /// The address to reach a container's ports from this host: its IP on the bridge
    /// network, 127.0.0.1 on the host network, `nil` without a network.
    public func address(of id: ContainerID) async throws -> String? {
        switch config.network {
        case "host": return "127.0.0.1"
        case "none": return nil
        default: break
        }
        let response = try expect([.ok], try await request(.GET, "/containers/\(id)/json"), operation: "inspect", container: id)
        struct Inspect: Decodable {
            struct Settings: Decodable {
                struct Network: Decodable { let IPAddress: String? }
                let IPAddress: String?
                let Networks: [String: Network]?
            }
            let NetworkSettings: Settings?
        }
        let settings = try decode(Inspect.self, from: response.body, operation: "inspect").NetworkSettings
        let candidates = [settings?.IPAddress] + (settings?.Networks ?? [:]).sorted { $0.key < $1.key }.map(\.value.IPAddress)
        return candidates.compactMap { $0 }.first { !$0.isEmpty }
    }

    /// Runs `command` inside the container and returns its exit code, or `nil` if it did
    /// not finish within `timeoutMs`. (The start is attached: podman 4.3 never reports a
    /// detached exec session as finished.)
    public func exec(_ command: [String], in id: ContainerID, timeoutMs: Int) async throws -> Int? {
        let create = CanonicalJSON.bytes(
            .object(["Cmd": .array(command.map(JSONValue.string)), "AttachStdout": .bool(true), "AttachStderr": .bool(true)]))
        let created = try expect(
            [.created], try await request(.POST, "/containers/\(id)/exec", body: create), operation: "exec", container: id)
        struct Created: Decodable { let Id: String }
        let exec = try decode(Created.self, from: created.body, operation: "exec").Id
        let start = CanonicalJSON.bytes(.object(["Detach": .bool(false), "Tty": .bool(false)]))
        do {
            try expect(
                [.ok], try await request(.POST, "/exec/\(exec)/start", body: start, timeout: .milliseconds(Int64(timeoutMs))),
                operation: "exec start", container: id)
        } catch let error as RuntimeError where error.operation == "request" {
            return nil  // did not finish in time
        }
        struct State: Decodable {
            let Running: Bool
            let ExitCode: Int?
        }
        let inspected = try expect([.ok], try await request(.GET, "/exec/\(exec)/json"), operation: "exec inspect", container: id)
        let state = try decode(State.self, from: inspected.body, operation: "exec inspect")
        return state.Running ? nil : state.ExitCode
    }
}
