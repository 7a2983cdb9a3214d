// swift-tools-version: 6.1
// mn's benchmarks that are Swift programs: build and run them with ./planning.sh and ./cluster.sh (release).
// A package of its own, so the main package's build and CI do not compile them.
import Foundation
import PackageDescription

// The main package's identity is the name of its folder, whatever the clone is called.
let mn = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "mn-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // RolloutPlanner.plan and NodeReconciler.reconcile at N = 100 … 100k: wall time, allocations, growth.
        .executableTarget(
            name: "planning",
            dependencies: [
                .product(name: "MNCore", package: mn),
                .product(name: "MNReconcile", package: mn),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Planning"
        ),
        // A fleet in one process: N nodes (NodeAgent on fake runtimes) and the ClusterController
        // against one real redis-server; a fleet-wide rolling update, pass times and Redis commands.
        .executableTarget(
            name: "cluster",
            dependencies: [
                .product(name: "MNCore", package: mn),
                .product(name: "MNReconcile", package: mn),
                .product(name: "MNAgent", package: mn),
                .product(name: "MNTestSupport", package: mn),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Cluster"
        ),
    ],
    swiftLanguageModes: [.v6]
)
