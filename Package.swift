// swift-tools-version:6.1
import PackageDescription

/// Features every target builds with (STYLE.md §10): explicit `public import`, `any` for existentials.
let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "backendtls",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BackendTLS", targets: ["BackendTLS"]),
        .executable(name: "backendtls", targets: ["backendtls"]),
        .executable(name: "backendtls-fuzz", targets: ["backendtls-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
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
        .executableTarget(
            name: "backendtls",
            dependencies: [
                "BackendTLS",
                "BackendTLSManifests",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcomingFeatures
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
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "BackendTLS",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
    ],
    swiftLanguageModes: [.v6]
)
