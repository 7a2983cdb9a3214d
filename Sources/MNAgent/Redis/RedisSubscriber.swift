import Foundation
import Synchronization

/// What a subscription delivers.
public enum RedisSubscriptionEvent: Sendable, Equatable {
    /// Subscribed (again): messages published while disconnected were lost, so resync.
    case subscribed
    /// A message on a channel.
    case message(channel: String, payload: [UInt8])
}

/// Subscribes to channels on a connection of its own, on a thread of its own, and
/// reconnects with backoff (100 ms doubling to 5 s) for as long as the stream is consumed.
public enum RedisSubscriber {
    /// The events of a subscription to `channels`; ending the iteration ends the subscription.
    public static func subscribe(url: RedisURL, channels: [String]) -> AsyncStream<RedisSubscriptionEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RedisSubscriptionEvent.self, bufferingPolicy: .bufferingNewest(1_024))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread {
            run(url: url, channels: channels, continuation: continuation, stop: stop)
            continuation.finish()
        }
        thread.name = "mn-redis-subscriber"
        thread.start()
        return stream
    }

    private static func run(
        url: RedisURL, channels: [String], continuation: AsyncStream<RedisSubscriptionEvent>.Continuation, stop: StopFlag
    ) {
        var failures = 0
        while !stop.isSet {
            do {
                let connection = try HiredisConnection(url: url)
                for channel in channels {
                    try connection.append([Array("SUBSCRIBE".utf8), Array(channel.utf8)])
                }
                for _ in channels { _ = try connection.readReply() }
                failures = 0
                continuation.yield(.subscribed)
                try pump(connection, continuation: continuation, stop: stop)
            } catch {
                failures += 1
                let backoffMs = min(5_000, 100 << min(failures - 1, 6))
                var waited = 0
                while waited < backoffMs && !stop.isSet {
                    usleep(20_000)
                    waited += 20
                }
            }
        }
    }

    /// Delivers messages until the connection breaks (throws) or the stop flag is set.
    private static func pump(
        _ connection: HiredisConnection, continuation: AsyncStream<RedisSubscriptionEvent>.Continuation, stop: StopFlag
    ) throws(RedisError) {
        while !stop.isSet {
            while let reply = try connection.bufferedReply() {
                if let items = reply.array, items.count == 3, items[0].string == "message",
                    let channel = items[1].string, let payload = items[2].bytes
                {
                    continuation.yield(.message(channel: channel, payload: payload))
                }
            }
            var descriptor = pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready < 0 && errno != EINTR { throw RedisError("poll failed: \(errno)", isConnectionError: true) }
            if ready > 0 { try connection.fillBuffer() }
        }
    }
}

/// Set once from any thread, read from the subscriber's thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
