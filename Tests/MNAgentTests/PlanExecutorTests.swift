import MNAgent
import MNCore
import MNReconcile
import MNTestSupport
import Testing

@Suite("Plan executor")
struct PlanExecutorTests {
    let now = Timestamp(milliseconds: 1_000_000)

    func instance(_ agent: String, image: String) -> DesiredInstance {
        DesiredInstance(key: "shop", spec: AgentSpec(id: AgentID(agent), workload: .image(image)), index: 0, version: 1)
    }

    @Test("a failed action fails its instance and the remaining actions still run")
    func failureDoesNotStopThePlan() async throws {
        let broken = instance("api", image: "localhost/broken:1")
        let fine = instance("web", image: "localhost/web:1")
        let plan = NodeReconciler.reconcile(.init(node: "n1", desired: [broken, fine], observed: [], now: now))
        #expect(plan.actions.count == 2)

        let runtime = FakeContainerRuntime(now: now)
        await runtime.fail(.create, image: "localhost/broken:1", message: "image not known")
        let (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)

        #expect(outcomes.map(\.succeeded) == [false, true])
        #expect(outcomes[0].error?.message == "image not known")
        // Not final: the next reconcile dates the retry as the restart policy says.
        #expect(executed.instances.map(\.phase) == [.failed(reason: "create: image not known", retryAt: now), .pending])
        let record = try #require(executed.records.first { $0.id == broken.id })
        #expect(record.lastError == "create: image not known")
        #expect(record.downSince == now)
        #expect(try await runtime.listManaged().map(\.name) == [StartContainer(instance: fine, node: "n1").name])
    }

    @Test("a dynamic host port taken between create and start: the container is removed and created again with another port")
    func takenDynamicPortIsRetried() async throws {
        var web = instance("web", image: "localhost/web:1")
        web.spec.ports = [PortMapping(name: "http", containerPort: 8080)]
        let runtime = FakeContainerRuntime(now: now)
        await runtime.takeDynamicPorts(times: 2)
        let plan = NodeReconciler.reconcile(.init(node: "n1", desired: [web], observed: [], now: now))
        let (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        #expect(outcomes.map(\.succeeded) == [true])
        let left = try await runtime.listManaged()
        #expect(left.map(\.id) == [outcomes[0].created].compactMap { $0 })
        #expect(left.first?.state == .running && (left.first?.ports.first?.hostPort ?? 0) > 0)
        #expect(await runtime.calls.filter { if case .create = $0 { true } else { false } }.count == 3)
        #expect(executed.instances.map(\.phase) == [.pending])

        await runtime.takeDynamicPorts(times: 3)
        var api = instance("api", image: "localhost/web:1")
        api.spec.ports = web.spec.ports
        let again = await PlanExecutor(runtime: runtime).execute(NodeReconciler.reconcile(.init(node: "n1", desired: [api], observed: [], now: now)))
        #expect(again.outcomes.first?.error?.isPortTaken == true, "three takes in a row fail the start, saying why")
    }

    @Test("a start that fails after create leaves a created container that the next pass restarts by id")
    func startFailureIsRetriedById() async throws {
        let web = instance("web", image: "localhost/web:1")
        let runtime = FakeContainerRuntime(now: now)
        await runtime.fail(.start, message: "error setting rlimit type 7")
        let first = await PlanExecutor(runtime: runtime).execute(
            NodeReconciler.reconcile(.init(node: "n1", desired: [web], observed: [], now: now)))
        let created = try #require(try await runtime.listManaged().first)
        #expect(created.state == .created)

        let later = now.adding(ms: 60_000)
        let next = NodeReconciler.reconcile(
            .init(node: "n1", desired: [web], observed: try await runtime.listManaged(), records: first.plan.records, now: later))
        #expect(next.actions == [.restart(RestartContainer(container: created.id, instance: web.id, specHash: web.specHash, attempt: 1))])
    }

    @Test("a failed stop is reported but does not fail a desired instance")
    func stopFailure() async throws {
        let web = instance("web", image: "localhost/web:1")
        let stray = ObservedContainer(
            id: "stray", name: "mn-shop-old-0-x", labels: StartContainer(instance: instance("old", image: "i"), node: "n1").labels,
            state: .running)
        let runtime = FakeContainerRuntime(now: now)
        await runtime.seed([stray])
        await runtime.fail(.stop, message: "timeout")
        let plan = NodeReconciler.reconcile(.init(node: "n1", desired: [web], observed: [stray], now: now))
        let (outcomes, executed) = await PlanExecutor(runtime: runtime).execute(plan)
        #expect(outcomes.map(\.succeeded) == [false, true])
        #expect(executed.instances.map(\.phase) == [.pending])
    }

    @Test("a batch of stops runs side by side up to the executor's concurrency, and outcomes keep the plan's order")
    func stopsRunConcurrently() async throws {
        for concurrency in [1, 3, 8] {
            let runtime = FakeContainerRuntime(now: now)
            let strays = (0..<5).map { index in
                ObservedContainer(
                    id: ContainerID("stray\(index)"), name: "mn-shop-old-\(index)",
                    labels: StartContainer(instance: instance("old\(index)", image: "i"), node: "n1").labels, state: .running)
            }
            await runtime.seed(strays)
            await runtime.setStopLatency(ms: 250)
            let plan = NodeReconciler.reconcile(.init(node: "n1", desired: [], observed: strays, now: now))
            let (outcomes, _) = await PlanExecutor(runtime: runtime, concurrency: concurrency).execute(plan)
            #expect(outcomes.map(\.action) == plan.actions)
            #expect(outcomes.allSatisfy { $0.succeeded })
            #expect(await runtime.maxStopsInFlight == min(concurrency, 5), "concurrency \(concurrency)")
            #expect(try await runtime.listManaged().isEmpty)
        }
    }
}
