// swift-tools-version:6.1
// The package reads as the architecture (README.md, "Architecture"): role-named Swift modules over small C targets.
//   Capture ─> Imaging ─> Engine ─> Detection ─> Delivery, wired together by Daemon and the `inspectd` CLI.
import PackageDescription

/// Version, commit and build date for `inspectd --version`, from the environment of `swift build` (Scripts/package
/// sets them); defines of the one C file that returns them, so a plain `swift build` works and says "dev".
let buildInfoDefines: [CSetting] = ["INSPECTD_VERSION", "INSPECTD_GIT_COMMIT", "INSPECTD_BUILD_DATE"].compactMap { name in
    guard let value = Context.environment[name], !value.isEmpty else { return nil }
    return .define(name, to: "\"\(value)\"")
}

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "inspectd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "inspectd", targets: ["inspectd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // The HTTP API (issue 19); no traits: swift-configuration support is not used and costs build time.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // multipart/form-data bodies of POST /api/v1/detect
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
    ],
    targets: [
        // MARK: C libraries the system ships (pkg-config module maps, one shim header each)
        .systemLibrary(name: "CV4L2", path: "Sources/CV4L2", pkgConfig: "libv4l2",
                       providers: [.apt(["libv4l-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMosquitto", path: "Sources/CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CModbus", path: "Sources/CModbus", pkgConfig: "libmodbus",
                       providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // MARK: our C: int8/fp32 kernels with runtime CPU dispatch
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3"])]),

        // MARK: version, commit and build date (see buildInfoDefines)
        .target(name: "CBuildInfo", path: "Sources/CBuildInfo", cSettings: buildInfoDefines),

        // MARK: the one thread runner of the pipeline's and delivery's loops
        .target(name: "Threading", swiftSettings: strict),

        // MARK: the data flow
        .target(name: "Imaging", dependencies: ["CJPEG", "CPNG"], swiftSettings: strict),
        .target(name: "Capture", dependencies: ["CV4L2", "Imaging"], swiftSettings: strict),
        .target(name: "Engine", dependencies: [
            "CKernels", "COpenBLAS",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .target(name: "Detection", swiftSettings: strict),
        .target(name: "Delivery", dependencies: [
            "CMosquitto", "Threading",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Part-synchronous inspection (issue 20): the PLC's Modbus TCP handshake.
        .target(name: "Triggers", dependencies: [
            "CModbus", "Threading",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The HTTP API: routes and JSON documents, reaching the daemon only through its `StationAPI` façade.
        .target(name: "API", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ], resources: [
            .embedInCode("openapi.json"),
            // The station page (issue 21), embedded: the binary serves it with nothing installed beside it.
            .embedInCode("Web/index.html"), .embedInCode("Web/station.js"), .embedInCode("Web/station.css"),
        ], swiftSettings: strict),
        .target(name: "Daemon", dependencies: [
            "API", "Capture", "Imaging", "Engine", "Detection", "Delivery", "CBuildInfo", "Threading", "Triggers",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: strict),
        .executableTarget(name: "inspectd", dependencies: [
            "API", "Daemon", "Capture", "Imaging", "Engine", "Detection", "Delivery", "CModbus", "CMosquitto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: strict),

        // MARK: tests, one target per module
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], swiftSettings: strict),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "CaptureTesting", "Imaging"], swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "CKernels", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DetectionTests", dependencies: ["Detection"], swiftSettings: strict),
        .testTarget(name: "ThreadingTests", dependencies: ["Threading"], swiftSettings: strict),
        .testTarget(name: "TriggersTests", dependencies: ["Triggers", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "API", "CaptureTesting", "TestSupport"],
                    swiftSettings: strict),
        // The HTTP API against a running daemon (real HTTP, real broker).
        .testTarget(name: "APITests", dependencies: ["API", "Daemon", "Delivery", "Detection", "Imaging", "TestSupport"],
                    swiftSettings: strict),
        // End-to-end tests of the `inspectd` binary (built next to the test bundle).
        .testTarget(name: "InspectdTests", dependencies: ["Detection", "TestSupport"], swiftSettings: strict),
        // Process runner and a real mosquitto broker/subscriber for the tests that start processes.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        // Test doubles of the capture side: a simulated V4L2 camera and a clock that only moves when told.
        .target(name: "CaptureTesting", dependencies: ["Capture", "CV4L2", "Imaging"], path: "Tests/CaptureTesting",
                swiftSettings: strict),
    ]
)

// MARK: fuzz harnesses (Scripts/fuzz), only with INSPECTD_FUZZ=1; each harness's main runs libFuzzer's driver
// (Fuzz/CFuzz). FuzzHTTP: the API's request parsing. FuzzTrigger: the trigger document of HTTP and MQTT triggers
// and the Modbus part-id registers. Only our own Swift modules are instrumented (-sanitize=fuzzer,address as target
// settings, not -Xswiftc): the packages they use (NIO, Hummingbird, swift-crypto, Yams, GRDB) keep the compile
// commands of the test build, so the fuzz build reuses their objects in .build instead of rebuilding and
// instrumenting the whole HTTP stack (the reason FuzzConfig and FuzzHTTP could not run in CI before). Coverage
// guidance therefore stops at our code: libyaml inside Yams, like libjpeg-turbo and libpng, is not instrumented.
if Context.environment["INSPECTD_FUZZ"] == "1" {
    let sanitize = ["-sanitize=fuzzer,address"]
    let own: Set<String> = ["Threading", "Imaging", "Capture", "Engine", "Detection", "Delivery", "Triggers", "API", "Daemon"]
    for target in package.targets where own.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitize)]
    }
    let fuzz: [SwiftSetting] = strict + [.unsafeFlags(["-parse-as-library"] + sanitize)]
    let link: [LinkerSetting] = [.unsafeFlags(sanitize)]
    func harness(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
        .executableTarget(name: name, dependencies: ["CFuzz"] + dependencies, path: "Fuzz/\(name)",
                          swiftSettings: fuzz, linkerSettings: link)
    }
    package.targets += [
        .target(name: "CFuzz", path: "Fuzz/CFuzz"),
        harness("FuzzConfig", ["Daemon"]),
        harness("FuzzONNX", ["Engine"]),
        harness("FuzzJPEG", ["Imaging"]),
        harness("FuzzPNG", ["Imaging"]),
        harness("FuzzTrigger", ["Triggers"]),
        harness("FuzzHTTP", ["API", .product(name: "Hummingbird", package: "hummingbird")]),
    ]
}
