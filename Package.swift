// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "mn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MNCore", targets: ["MNCore"]),
        .library(name: "MNReconcile", targets: ["MNReconcile"]),
        .library(name: "MNAgent", targets: ["MNAgent"]),
        .executable(name: "mnctl", targets: ["mnctl"]),
        .executable(name: "mnagent", targets: ["mnagent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // Vocabulary: manifests, policies, validation, canonical encoding, deployment records. No I/O.
        .target(
            name: "MNCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Pure decisions: desired + observed + now -> plan. No clock, I/O, randomness or async.
        .target(name: "MNReconcile", dependencies: ["MNCore"]),
        // The impure shell: runtimes and the plan executor.
        .target(name: "MNAgent", dependencies: ["MNCore", "MNReconcile"]),
        // Test doubles that obey the same contracts as the real components.
        .target(name: "MNTestSupport", dependencies: ["MNCore", "MNReconcile", "MNAgent"]),
        .executableTarget(
            name: "mnctl",
            dependencies: [
                "MNCore", "MNReconcile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "mnagent",
            dependencies: [
                "MNAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MNCoreTests", dependencies: ["MNCore"]),
        .testTarget(
            name: "MNReconcileTests",
            dependencies: [
                "MNCore", "MNReconcile", "MNAgent", "MNTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "MNAgentTests", dependencies: ["MNAgent", "MNTestSupport"]),
        .testTarget(name: "mnctlTests", dependencies: ["mnctl", "MNCore", "MNReconcile"]),
    ],
    swiftLanguageModes: [.v6]
)
