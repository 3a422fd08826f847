// swift-tools-version: 6.0
// Host build of Apus's pure modules (the guest ABI, the hypervisor core, GuestKit's pure part) and their tests.
// It must never build the freestanding image or depend on outside packages: the Makefile does that.

import PackageDescription

let package = Package(
    name: "Apus",
    products: [
        .library(name: "PVABI", targets: ["PVABI"]),
        .library(name: "ApusCore", targets: ["ApusCore"]),
        .library(name: "GuestKit", targets: ["GuestKit"]),
    ],
    targets: [
        // The Xen pv32pae guest ABI: numbers and layouts, no logic.
        .target(name: "PVABI", path: "Sources/PVABI"),
        // Pure hypervisor logic, compiled unchanged into the freestanding image.
        // Optimized even in debug builds: the host tests run each decoder a million times and
        // the page-table property test thousands of sequences, as the freestanding image would.
        .target(name: "ApusCore", dependencies: ["PVABI"], path: "Sources/ApusCore",
                swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(
            name: "ApusCoreTests",
            dependencies: ["PVABI", "ApusCore"],
            path: "Tests/ApusCoreTests",
            swiftSettings: [.unsafeFlags(["-O"])]
        ),
        // The pure part of the guest kernels' library. Asm/ is NASM, Hardware/ declares @_extern
        // symbols that only a guest image links, and Frontends/Driver calls them; none is part of the host build.
        .target(
            name: "GuestKit",
            dependencies: ["PVABI", "ApusCore"],
            path: "Sources/GuestKit",
            exclude: ["Asm", "Hardware", "Frontends/Driver"]
        ),
        .testTarget(
            name: "GuestKitTests",
            dependencies: ["PVABI", "ApusCore", "GuestKit"],
            path: "Tests/GuestKitTests"
        ),
    ]
)
