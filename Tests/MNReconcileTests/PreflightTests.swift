import MNCore
import MNReconcile
import Testing

@Suite("Preflight checks before anything of a version starts")
struct PreflightTests {
    func web(image: String = "web:1", count: Int = 1, hostPort: Int? = nil) -> Manifest {
        var agent = AgentSpec(id: "web", count: count, workload: .image(image))
        if let hostPort { agent.ports = [PortMapping(name: "http", containerPort: 80, hostPort: hostPort)] }
        return Manifest(key: "shop", agents: [agent])
    }

    @Test("a version whose images are there and whose ports are free passes")
    func passes() {
        let problems = Preflight.problems(
            .init(from: nil, to: web(hostPort: 8080), node: "n1", missingImages: [], portsInUse: [HostPort(9090): "other"]))
        #expect(problems.isEmpty)
    }

    @Test("a missing image and a port another deployment holds are each named with the fix (several instances of a host port go to several nodes: placement's)")
    func failures() {
        let problems = Preflight.problems(
            .init(
                from: nil, to: web(image: "web:9", count: 2, hostPort: 8080), node: "n1", missingImages: ["web:9"],
                portsInUse: [HostPort(8080): "blog"]))
        #expect(problems.count == 2)
        #expect(problems.contains { $0.contains("image 'web:9' is not on node n1") && $0.contains("mnctl deployment resume shop") })
        #expect(problems.contains { $0.contains("8080/tcp") && $0.contains("deployment 'blog'") })
    }

    @Test("a host port held by a process outside mn is named")
    func heldOutsideMN() {
        let problems = Preflight.problems(
            .init(from: nil, to: web(hostPort: 8080), node: "n1", missingImages: [], portsInUse: [:], portsHeldOutsideMN: [HostPort(8080)]))
        #expect(
            problems == [
                "agent 'web' publishes host port 8080/tcp, which a process mn does not manage holds on node n1: stop it or choose a free host port"
            ])
    }

    @Test("blue-green must fit beside the old version; a rolling update on the same port may replace in place")
    func sideBySide() {
        var from = web(hostPort: 8080)
        var to = web(image: "web:2", hostPort: 8080)
        #expect(Preflight.problems(.init(from: from, to: to, node: "n1", missingImages: [], portsInUse: [:])).isEmpty)
        from.policies.update.strategy = .blueGreen
        to.policies.update.strategy = .blueGreen
        let problems = Preflight.problems(.init(from: from, to: to, node: "n1", missingImages: [], portsInUse: [:]))
        #expect(problems.count == 1 && problems[0].contains("side by side") && problems[0].contains("8080/tcp"))
        // An unchanged agent is the same container, not a second one: no clash.
        #expect(Preflight.problems(.init(from: from, to: from, node: "n1", missingImages: [], portsInUse: [:])).isEmpty)
    }
}
