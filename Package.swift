// swift-tools-version:6.2
//
// WaterHub: an intermunicipal hub that pulls each water company's weekly feed, validates and
// splits it per municipality into one SQLite file per town, and serves each town its own slice.
//
// The targets, from the inside out:
//   WaterHubCore      pure domain: events, households and cases, reference data, routing rules
//   WaterHubDialects  pure feed decoding: CSV/JSON dialects, encodings, Dutch dates and amounts
//   WaterHubDisclosure pure statistical disclosure control: primary and secondary cell suppression
//   WaterHubStatistics pure: the regional cell's figures from the towns' counts, through disclosure control
//   WaterHubConfig    reads and validates Config/ (YAML with file:line:key diagnostics)
//   CCurl             libcurl, loaded at the first transfer, with typed shims for its variadic calls
//   CSQLite           SQLite 3.50.4 itself (the amalgamation), built into the binary with the options WaterHub needs
//   WaterHubFetch     the libcurl fetcher (file://, http(s)://, sftp://)
//   WaterHubStorage   GRDB: the hub ledger and one database per town
//   WaterHubAPI       Hummingbird 2: the token-bound pull API
//   WaterHubApp       the composition root (buildApplication), ingest pipeline, services
//   waterhub          the command line (swift-argument-parser); @main only parses and calls in
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "waterhub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "waterhub", targets: ["WaterHubCommand"]),
        .library(name: "WaterHubApp", targets: ["WaterHubApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "WaterHubCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubDialects",
            dependencies: ["WaterHubCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubDisclosure",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubStatistics",
            dependencies: ["WaterHubCore", "WaterHubDisclosure"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubConfig",
            dependencies: [
                "WaterHubCore", "WaterHubDialects",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // libcurl's headers (libcurl4-openssl-dev) and a loader: the library itself is loaded at
        // the first transfer (shim.c), with typed wrappers for its variadic calls (include/shim.h).
        .target(name: "CCurl"),
        // SQLite itself, compiled into the binary (Sources/CSQLite/README.md says why, which
        // version and options, and how to update it). GRDB still compiles against the system's
        // sqlite3.h (libsqlite3-dev: the same API); its calls are linked to this copy. Built
        // optimised in debug builds too: the tests spend much of their time in SQLite.
        .target(
            name: "CSQLite",
            exclude: ["README.md"],
            cSettings: [
                .define("SQLITE_THREADSAFE", to: "1"),
                .define("SQLITE_SECURE_DELETE"),
                .define("SQLITE_DEFAULT_MEMSTATUS", to: "0"),
                .define("SQLITE_OMIT_DEPRECATED"),
                .define("SQLITE_OMIT_SHARED_CACHE"),
                .define("SQLITE_OMIT_LOAD_EXTENSION"),
                .define("SQLITE_MAX_EXPR_DEPTH", to: "0"),
                .define("SQLITE_USE_ALLOCA"),
                .define("SQLITE_LIKE_DOESNT_MATCH_BLOBS"),
                .define("SQLITE_ENABLE_MATH_FUNCTIONS"),
                .define("HAVE_ISNAN"),
                .unsafeFlags(["-O2", "-w"]),
            ]
        ),
        .target(
            name: "WaterHubFetch",
            dependencies: [
                "CCurl", "WaterHubCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubStorage",
            dependencies: [
                "WaterHubCore", "WaterHubStatistics", "CSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubAPI",
            dependencies: [
                "WaterHubCore", "WaterHubStorage", "WaterHubStatistics", "WaterHubDisclosure",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The API's description: one file, embedded in the binary and served at /openapi.yaml.
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubApp",
            dependencies: [
                "WaterHubCore", "WaterHubDialects", "WaterHubConfig", "WaterHubFetch",
                "WaterHubStorage", "WaterHubAPI", "WaterHubStatistics", "WaterHubDisclosure",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "WaterHubCommand",
            dependencies: [
                "WaterHubApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WaterHubTestSupport",
            dependencies: ["WaterHubCore"],
            path: "Tests/WaterHubTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubCoreTests",
            dependencies: ["WaterHubCore", "WaterHubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubDialectsTests",
            dependencies: ["WaterHubDialects", "WaterHubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubDisclosureTests",
            dependencies: ["WaterHubDisclosure", "WaterHubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubStatisticsTests",
            dependencies: ["WaterHubStatistics", "WaterHubDisclosure", "WaterHubCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubFetchTests",
            dependencies: ["WaterHubFetch", "WaterHubTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubConfigTests",
            dependencies: ["WaterHubConfig", "WaterHubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubStorageTests",
            dependencies: ["WaterHubStorage", "WaterHubTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubAPITests",
            dependencies: ["WaterHubAPI", "WaterHubCore", "WaterHubStorage", "WaterHubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WaterHubAppTests",
            dependencies: [
                "WaterHubApp", "WaterHubTestSupport", "WaterHubStatistics", "WaterHubDisclosure",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
