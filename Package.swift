// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "mn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MNCore", targets: ["MNCore"]),
        .library(name: "MNReconcile", targets: ["MNReconcile"]),
        .library(name: "MNAgent", targets: ["MNAgent"]),
        // Fakes and real-process fixtures, for tests and for Benchmarks/ (a package of its own).
        .library(name: "MNTestSupport", targets: ["MNTestSupport"]),
        .executable(name: "mnctl", targets: ["mnctl"]),
        .executable(name: "mnagent", targets: ["mnagent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
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
        // C libraries from Debian, each called from one Swift file.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The impure shell: Redis store and watch, podman runtime, plan executor, agent loop.
        .target(
            name: "MNAgent",
            dependencies: [
                "MNCore", "MNReconcile", "CHiredis", "CSystemd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test doubles that obey the same contracts as the real components.
        .target(name: "MNTestSupport", dependencies: ["MNCore", "MNReconcile", "MNAgent"]),
        // Pure fixtures for the pure layer's tests: builders, a simulated cluster, the recorded planning corpus, the manifest fuzzer.
        .target(name: "MNReconcileTestSupport", dependencies: ["MNCore", "MNReconcile"]),
        // Random node scenarios for property tests (PropertyBased needs swift-testing, so apart
        // from what mn-release-checks links: it is built like the shipped binaries, static).
        .target(
            name: "MNReconcileGenerators",
            dependencies: ["MNCore", "MNReconcile", "MNReconcileTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]),
        .executableTarget(
            name: "mnctl",
            dependencies: [
                "MNCore", "MNReconcile", "MNAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "mnagent",
            dependencies: [
                "MNAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "MNCoreTests", dependencies: ["MNCore", "MNReconcileTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]),
        // Pure tests of the pure layer: no MNAgent, no fakes of the runtime.
        .testTarget(
            name: "MNReconcileTests",
            dependencies: [
                "MNCore", "MNReconcile", "MNReconcileTestSupport", "MNReconcileGenerators",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "MNAgentTests",
            dependencies: [
                "MNAgent", "MNTestSupport", "MNReconcileTestSupport", "MNReconcileGenerators",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "mnctlTests", dependencies: ["mnctl", "MNCore", "MNReconcile"]),
        // Checks that only mean something in an optimised build; scripts/test.sh runs them in release.
        .executableTarget(
            name: "mn-release-checks", dependencies: ["MNAgent", "MNCore", "MNReconcile", "MNTestSupport", "MNReconcileTestSupport"],
            path: "Tests/ReleaseChecks"),
    ],
    swiftLanguageModes: [.v6]
)
