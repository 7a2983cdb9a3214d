import AsyncHTTPClient
import Foundation
public import MNCore
import NIOCore

extension PodmanRuntime {
    /// podman's event stream for containers labelled for `node`: one wake-up per event
    /// line. Reconnects (after a second) if the stream breaks, until the consumer stops.
    public func changes(on node: NodeID) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let filters = #"{"type":["container"],"label":["\#(ContainerLabel.node)=\#(node)"]}"#
        let path = "/events?stream=true&filters=" + (filters.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let socketPath = self.socketPath
        let task = Task {
            while !Task.isCancelled {
                do {
                    guard let url = URL(httpURLWithSocketPath: socketPath, uri: Self.apiBase + path) else { return }
                    var request = HTTPClientRequest(url: url.absoluteString)
                    request.headers.add(name: "Host", value: "localhost")
                    let response = try await HTTPClient.shared.execute(request, deadline: .distantFuture)
                    for try await chunk in response.body where chunk.readableBytesView.contains(UInt8(ascii: "\n")) {
                        continuation.yield()
                    }
                } catch {
                    // The service went away or restarted: try again shortly.
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
