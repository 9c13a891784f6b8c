// swift-tools-version: 6.1
import PackageDescription

/// One set of Swift settings for every target: Swift 6 language mode (strict concurrency) everywhere.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "breakglass",
    // Linux only (rabbitmq-c from Debian, prctl, /proc, nftables): no other platform is declared because none is
    // built or tested.
    products: [
        .executable(name: "breakglass", targets: ["breakglass"]),
        // The lab (simulator, benchmarks, drills): built beside the product, never part of it.
        .executable(name: "breakglass-lab", targets: ["breakglass-lab"]),
        .library(name: "BreakGlassCore", targets: ["BreakGlassCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The domain: request, signature, reason codes, events, gate rules, state machine, masking. No I/O.
        .target(
            name: "BreakGlassCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: swiftSettings
        ),
        // rabbitmq-c 0.11 (Debian librabbitmq-dev) as a system library, with a tiny header shim.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        // prctl(2) is C-variadic (not callable from Swift): a two-function shim for process hardening.
        .target(name: "CProcessHardening"),
        .target(
            name: "BreakGlassAMQP",
            dependencies: [
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BreakGlassLedger",
            dependencies: [
                "BreakGlassCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared ledger for workers on several hosts (issue 17): the `Ledger` seam on PostgreSQL.
        .target(
            name: "BreakGlassLedgerPostgres",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BreakGlassLiveSources",
            dependencies: [
                "BreakGlassCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Sealed evidence bundles: written by the pipeline and the console driver, verified by the report and the CLI.
        // syncfs(2) for the evidence group commit (Glibc's module does not expose the GNU extension).
        .target(name: "CFileSystemSync"),
        .target(
            name: "BreakGlassEvidence",
            dependencies: [
                "BreakGlassCore",
                "CFileSystemSync",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BreakGlassConsole",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassEvidence",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BreakGlassSimulator",
            // The lab's stand-in for the live sources and the console: it shares no code with the product (it
            // imports nothing of ours), so it cannot agree with the worker by construction, only by the contract.
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The worker assembled: configuration loading, the pipeline and its services.
        .target(
            name: "BreakGlassWorker",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassEvidence",
                "BreakGlassAMQP",
                "BreakGlassLedger",
                "BreakGlassLedgerPostgres",
                "BreakGlassLiveSources",
                "BreakGlassConsole",
                "CProcessHardening",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "breakglass",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassEvidence",
                "BreakGlassAMQP",
                "BreakGlassLedger",
                "BreakGlassLiveSources",
                "BreakGlassConsole",
                "BreakGlassWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "breakglass-lab",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassLedger",
                "BreakGlassLedgerPostgres",
                "BreakGlassLiveSources",
                "BreakGlassSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassCoreTests",
            dependencies: [
                "BreakGlassCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassWorkerTests",
            dependencies: [
                "BreakGlassWorker", "BreakGlassCore", "BreakGlassLedger", "BreakGlassConsole", "BreakGlassAMQP",
                "BreakGlassEvidence",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassAMQPTests",
            dependencies: ["BreakGlassAMQP"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassLedgerTests",
            dependencies: [
                "BreakGlassLedger", "BreakGlassLedgerPostgres", "BreakGlassCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassLiveSourcesTests",
            dependencies: [
                "BreakGlassLiveSources", "BreakGlassCore", "BreakGlassSimulator", "BreakGlassTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test helpers shared by test targets (a scripted HTTP server); never linked into a product.
        .target(
            name: "BreakGlassTestSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/BreakGlassTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassConsoleTests",
            dependencies: [
                "BreakGlassConsole", "BreakGlassEvidence", "BreakGlassCore", "BreakGlassTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassSimulatorTests",
            dependencies: [
                "BreakGlassSimulator", "BreakGlassCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BreakGlassIntegrationTests",
            dependencies: [
                "BreakGlassCore",
                "BreakGlassAMQP",
                "BreakGlassLedger",
                "BreakGlassLedgerPostgres",
                "BreakGlassLiveSources",
                "BreakGlassConsole",
                "BreakGlassEvidence",
                "BreakGlassSimulator",
                "BreakGlassWorker",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// The libFuzzer target for decode + signature parsing (issue 9). Declared only when `scripts/fuzz` sets
// BREAKGLASS_FUZZ=1; it builds it in its own build path (.build-fuzz) with `-sanitize=fuzzer`, so the normal build
// and `swift test` never see it. Run `scripts/fuzz [SECONDS]`.
if Context.environment["BREAKGLASS_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "BreakGlassFuzz",
            dependencies: ["BreakGlassCore"],
            swiftSettings: swiftSettings + [.enableExperimentalFeature("Extern"), .unsafeFlags(["-parse-as-library"])]
        )
    )
    package.products.append(.executable(name: "BreakGlassFuzz", targets: ["BreakGlassFuzz"]))
}
