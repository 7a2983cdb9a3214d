import MNCore

extension ServiceCatalog {
    /// A blocking query: the resolution of `query` as soon as its index differs from `index`
    /// (at once when `index` is `nil` or already stale), or the unchanged one once `timeout`
    /// has passed. It wakes on what can change the answer — a node's report (`mn:reported`),
    /// an assignment (`mn:assigned`: promotions, rollbacks, retirements), a node's heartbeat
    /// expiring — and reads the catalog again; it never polls.
    public static func watch(
        _ query: ServiceQuery, in store: DeploymentStore, after index: String?, timeout: Duration
    ) async throws -> ServiceResolution {
        let deadline = Timestamp.now().adding(ms: max(0, timeout.milliseconds))
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // Subscribed before the first read, so a change between that read and the wait still wakes it.
        let subscription = Task {
            for await _ in RedisSubscriber.subscribe(url: store.redis.url, channels: [StoreKeys.reported, StoreKeys.assigned]) {
                wake.yield()
            }
        }
        defer { subscription.cancel() }
        var alarm = Self.alarm(at: deadline, wake)
        defer { alarm.cancel() }
        var iterator = wakes.makeAsyncIterator()
        if index != nil { _ = await iterator.next() }  // subscribed (or the deadline passed)
        while true {
            let catalog = try await read(from: store)
            let resolution = catalog.resolve(query)
            if resolution.index != index || Timestamp.now() >= deadline || Task.isCancelled { return resolution }
            alarm.cancel()
            // At a heartbeat's expiry (not before 20 ms from now: a clock behind Redis's must not spin).
            let expiry = catalog.nextExpiry.map { max($0.adding(ms: 1), Timestamp.now().adding(ms: 20)) }
            alarm = Self.alarm(at: min(deadline, expiry ?? deadline), wake)
            _ = await iterator.next()
        }
    }

    private static func alarm(at time: Timestamp, _ wake: AsyncStream<Void>.Continuation) -> Task<Void, Never> {
        Task {
            let ms = time.milliseconds(since: .now())
            if ms > 0 { try? await Task.sleep(for: .milliseconds(ms)) }
            if !Task.isCancelled { wake.yield() }
        }
    }
}
