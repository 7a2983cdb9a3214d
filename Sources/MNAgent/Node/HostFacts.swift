import Foundation
import Glibc
public import MNCore

/// What the agent reads about its host to register it: operating system, architecture, host
/// name, CPU and memory, its primary address and its NVIDIA GPUs.
public enum HostFacts {
    /// What the agent of `node` registers: the host's facts, with what `config` sets (address,
    /// meta, capacity, devices) taking precedence, and `address` (the command line) over all.
    public static func nodeInfo(_ node: NodeID, config: NodeConfig, address: String?) async -> NodeInfo {
        var devices = config.devices
        for gpu in await gpus() where !devices.contains(where: { $0.id == gpu.id }) { devices.append(gpu) }
        return NodeInfo(
            id: node, address: address ?? config.address ?? primaryAddress ?? "127.0.0.1", os: "linux", arch: arch,
            hostname: ProcessInfo.processInfo.hostName, meta: config.meta,
            capacity: NodeCapacity(cpuMillis: config.capacity.cpuMillis ?? cpuMillis, memoryMB: config.capacity.memoryMB ?? memoryMB),
            devices: devices)
    }

    /// The architecture as the kernel names it (`x86_64`, `aarch64`).
    public static var arch: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Online CPUs, in millicores.
    public static var cpuMillis: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) * 1_000 }

    /// Total memory in MB, from `/proc/meminfo` (0 when it cannot be read).
    public static var memoryMB: Int {
        (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(memoryMB(meminfo:)) ?? 0
    }

    /// `MemTotal` of a `/proc/meminfo` text, in MB.
    static func memoryMB(meminfo: String) -> Int? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes / 1_024
        }
        return nil
    }

    /// The IPv4 address of the interface that carries the default route, else of the first
    /// interface that is up and not loopback; `nil` when there is none.
    public static var primaryAddress: String? {
        let route = (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)).flatMap(defaultRouteInterface(routeTable:))
        let addresses = interfaceAddresses()
        if let route, let address = addresses.first(where: { $0.interface == route }) { return address.address }
        return addresses.first?.address
    }

    /// The interface of the default route in a `/proc/net/route` table.
    static func defaultRouteInterface(routeTable: String) -> String? {
        for line in routeTable.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.count > 2, fields[1] == "00000000" { return String(fields[0]) }
        }
        return nil
    }

    /// Up, non-loopback IPv4 addresses by interface, in the order the kernel lists them.
    private static func interfaceAddresses() -> [(interface: String, address: String)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [(String, String)] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            let flags = Int32(entry.pointee.ifa_flags)
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0
            else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            result.append((String(cString: entry.pointee.ifa_name), String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return result
    }

    /// The host's NVIDIA GPUs, from `nvidia-smi` when it is installed (none otherwise).
    public static func gpus() async -> [NodeDevice] {
        guard let smi = ChildProcess.find("nvidia-smi") else { return [] }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mn-nvidia-smi-\(getpid()).csv").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard
            let process = try? ChildProcess(
                executable: smi, arguments: ["--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"],
                logFile: output),
            await process.exit(killAfter: .seconds(10)) == 0,
            let text = try? String(contentsOfFile: output, encoding: .utf8)
        else { return [] }
        return gpus(nvidiaSMI: text)
    }

    /// GPUs from `nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits`
    /// output: one `gpu` device per line, driver `cuda`, its index as id.
    static func gpus(nvidiaSMI text: String) -> [NodeDevice] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 3, !fields[0].isEmpty, Int(fields[0]) != nil else { return nil }
            return NodeDevice(id: fields[0], kind: "gpu", driver: "cuda", name: fields[1], memoryMB: Int(fields[2]))
        }
    }
}
