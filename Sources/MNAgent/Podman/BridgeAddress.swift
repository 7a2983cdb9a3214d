import Foundation

/// Pins the MAC address of podman's default bridge (`podman0`).
///
/// netavark 1.4 (Debian 12's) leaves the bridge's address to the kernel, which gives a bridge
/// the lowest address among its ports: whenever the container holding it stops, the bridge's
/// address changes, and containers keep sending replies to the old one until their ARP entry
/// expires — connections to the survivors fail for seconds in the middle of a rolling update
/// (containers/netavark#833). An address set explicitly never changes again, so the agent sets
/// the bridge's current one once the bridge exists (after a start), unless it was set already.
enum BridgeAddress {
    static let bridge = "podman0"

    /// Sets `bridge`'s address to its current one if the kernel still chooses it. Best effort:
    /// a host without the bridge, or where `ip` cannot change it, is left as it is.
    static func pin(_ bridge: String = bridge) async {
        let sys = "/sys/class/net/\(bridge)"
        // addr_assign_type 3 (NET_ADDR_SET): set explicitly, the kernel no longer changes it.
        guard let type = try? String(contentsOfFile: "\(sys)/addr_assign_type", encoding: .utf8), type.trimmed != "3",
            let address = try? String(contentsOfFile: "\(sys)/address", encoding: .utf8).trimmed, !address.isEmpty,
            let ip = ChildProcess.find("ip"),
            let child = try? ChildProcess(executable: ip, arguments: ["link", "set", "dev", bridge, "address", address])
        else { return }
        _ = await child.exit(killAfter: .seconds(5))
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
