// swift-tools-version:6.1
import PackageDescription

/// Features every target builds with (STYLE.md §10): explicit `public import`, `any` for existentials.
let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// How the release sidecar is linked on Linux, for its memory (issue 5's RSS goal; figures in BENCHMARKS.md).
/// - lld, not gold: it packs the binary's 130,000 relative relocations into a few KiB (`-z pack-relative-relocs`)
///   instead of 3 MiB that the dynamic loader reads at every start, and it can order functions.
/// - `--no-export-dynamic` undoes the static standard library's `-export-dynamic`: exported, every relocated symbol
///   was looked up by name at start-up, through 3.7 MiB of dynamic symbol tables.
/// - The code the sidecar runs goes first (from bench/sidecar-order.sh): the kernel maps code into a process in 64 KiB
///   runs around each page touched, so the same few MiB of hot code scattered over the 28 MiB of code made most of
///   the process's RSS. `hot-functions.order` names it by symbol; `hot-sections.ld` places, by object file and
///   section, what no unique symbol names: private functions without symbols and local thunks that many objects
///   define under one name (by name, lld would move them all, whole toolchain libraries' code among them).
/// - libstdc++ (which the Swift runtime needs) linked statically: only the parts used, placed with the rest of the
///   code, instead of all of libstdc++.so mapped with its symbol tables (1.4 MiB of the idle sidecar's RSS). This
///   expects the static Swift runtime too (`--static-swift-stdlib`, as `make sidecar-release` and the Dockerfile
///   build it): the shared one loads libstdc++.so, and a second copy would come with it. It needs libstdc++.a
///   (Debian and Ubuntu's libstdc++-dev, which the Swift images have).
let sidecarReleaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            // What the Swift driver once added for lld itself: sections reached only through __start_/__stop_
            // symbols (Swift's metadata) survive --gc-sections.
            "-Xlinker", "-z", "-Xlinker", "nostart-stop-gc",
            "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--no-export-dynamic",
            "-Xlinker",
            "--symbol-ordering-file=\(Context.packageDirectory)/Sources/backendtls-sidecar/hot-functions.order",
            "-Xlinker", "--no-warn-symbol-ordering",
            // Static libstdc++: link/libstdc++.so, searched before the system's, names libstdc++.a.
            "-L", "\(Context.packageDirectory)/Sources/backendtls-sidecar/link",
            // A script with INSERT only adds to lld's default layout.
            "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/Sources/backendtls-sidecar/hot-sections.ld",
        ],
        .when(platforms: [.linux], configuration: .release)
    )
]

let package = Package(
    name: "backendtls",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BackendTLS", targets: ["BackendTLS"]),
        .executable(name: "backendtls", targets: ["backendtls"]),
        .executable(name: "backendtls-fuzz", targets: ["backendtls-fuzz"]),
        .executable(name: "backendtls-webhook", targets: ["backendtls-webhook"]),
        .executable(name: "backendtls-sidecar", targets: ["backendtls-sidecar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", "2.101.2"..<"2.102.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
    ],
    targets: [
        .target(
            name: "BackendTLS",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSManifests",
            dependencies: [
                "BackendTLS",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSCommandLine",
            dependencies: [
                "BackendTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "backendtls",
            dependencies: [
                "BackendTLS",
                "BackendTLSManifests",
                "BackendTLSCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSKube",
            dependencies: [
                "BackendTLS",
                "BackendTLSManifests",
                "BackendTLSServerSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSServerSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSWebhook",
            dependencies: [
                "BackendTLS",
                "BackendTLSKube",
                "BackendTLSServerSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "backendtls-webhook",
            dependencies: [
                "BackendTLSWebhook",
                "BackendTLSKube",
                "BackendTLSServerSupport",
                "BackendTLS",
                "BackendTLSCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "BackendTLSSidecar",
            dependencies: [
                "BackendTLS",
                "BackendTLSKube",
                "BackendTLSManifests",
                "BackendTLSServerSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "backendtls-sidecar",
            dependencies: [
                "BackendTLSSidecar",
                "BackendTLSKube",
                "BackendTLSServerSupport",
                "BackendTLS",
                "BackendTLSCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["hot-functions.order", "hot-sections.ld", "link"],
            swiftSettings: upcomingFeatures,
            linkerSettings: sidecarReleaseLinking
        ),
        .executableTarget(
            name: "backendtls-fuzz",
            dependencies: ["BackendTLS", "BackendTLSManifests"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "BackendTLSTests",
            dependencies: [
                "BackendTLS",
                "BackendTLSManifests",
                "TestCertificates",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "BackendTLSWebhookTests",
            dependencies: [
                "BackendTLSWebhook",
                "BackendTLSServerSupport",
                "BackendTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "BackendTLSSidecarTests",
            dependencies: [
                "BackendTLSSidecar",
                "TestCertificates",
                "BackendTLSServerSupport",
                "BackendTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "TestCertificates",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/TestCertificates",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "KubeTestServer",
            dependencies: [
                "BackendTLS",
                "BackendTLSServerSupport",
                "BackendTLSWebhook",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/KubeTestServer",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "BackendTLSKubeTests",
            dependencies: [
                "BackendTLSKube",
                "KubeTestServer",
                "BackendTLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "BackendTLS",
                "BackendTLSManifests",
                "KubeTestServer",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
    ],
    swiftLanguageModes: [.v6]
)
