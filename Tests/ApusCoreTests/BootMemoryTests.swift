// Tests of start-of-day memory accounting: overlaps, reservations, partial frames and caps.
// They must never depend on a real machine's map; each builds its own.

import XCTest
@testable import ApusCore

private func region(_ start: UInt64, _ end: UInt64, _ kind: MemoryRegionKind = .available) -> MemoryRegion {
    MemoryRegion(start: start, length: end - start, kind: kind)!
}

private func frames(_ first: UInt32, _ end: UInt32) -> FrameRange {
    FrameRange(first: first, count: end - first)
}

final class BootMemoryTests: XCTestCase {
    func testTypicalPCMap() {
        let regions = [
            region(0, 0x9FC00),
            region(0x9FC00, 0xA0000, .reserved),
            region(0xF0000, 0x10_0000, .reserved),
            region(0x10_0000, 0x7FE_0000),
            region(0x7FE_0000, 0x800_0000, .acpiReclaimable),
            region(0xFFFC_0000, 0x1_0000_0000, .reserved),
        ]
        let reserved = [
            PhysRange(start: 0, end: 0x10_0000),              // first MiB
            PhysRange(start: 0x10_0000, end: 0x20_0000),      // hypervisor image
            PhysRange(start: 0x40_0000, end: 0x40_0800),      // a module ending mid-frame
        ]
        let summary = BootMemorySummary(regions: regions, reserved: reserved)
        XCTAssertEqual(summary.totalBytes, 0x9FC00 + 0x7EE_0000)
        XCTAssertEqual(summary.usableFrameRanges, [frames(0x200, 0x400), frames(0x401, 0x7FE0)])
        XCTAssertEqual(summary.usableBytes, UInt64(0x200 + 0x7FE0 - 0x401) * 4096)
        XCTAssertEqual(summary.highestFrame, 0x7FE0)
        let nonAvailable: UInt64 = 0x400 + 0x10000 + 0x2_0000 + 0x4_0000
        let reservedInAvailable: UInt64 = 0x9FC00 + 0x10_0000 + 0x800
        XCTAssertEqual(summary.reservedBytes, nonAvailable + reservedInAvailable)
    }

    func testPartialFramesAtRegionEdgesDoNotCount() {
        let summary = BootMemorySummary(regions: [region(0x1800, 0x5800)], reserved: [])
        XCTAssertEqual(summary.usableFrameRanges, [frames(2, 5)])
        XCTAssertEqual(summary.usableBytes, 3 * 4096)
        XCTAssertEqual(summary.totalBytes, 0x4000)
        XCTAssertEqual(summary.highestFrame, 5)
    }

    func testNonAvailableWinsOverAvailable() {
        let regions = [
            region(0x10_0000, 0x20_0000),
            region(0x18_0000, 0x18_1000, .reserved),       // inside
            region(0x1F_F800, 0x30_0000, .acpiNVS),        // overlapping the end mid-frame
        ]
        let summary = BootMemorySummary(regions: regions, reserved: [])
        XCTAssertEqual(summary.usableFrameRanges, [frames(0x100, 0x180), frames(0x181, 0x1FF)])
        XCTAssertEqual(summary.totalBytes, 0x8_0000 + 0x7_E800)
        XCTAssertEqual(summary.highestFrame, 0x1FF)
        XCTAssertEqual(summary.reservedBytes, 0x1000 + 0x10_0800)
    }

    func testOverlappingAvailableRegionsAreCountedOnce() {
        let regions = [region(0x10_0000, 0x30_0000), region(0x20_0000, 0x40_0000), region(0x40_0000, 0x50_0000)]
        let summary = BootMemorySummary(regions: regions, reserved: [])
        XCTAssertEqual(summary.totalBytes, 0x40_0000)
        XCTAssertEqual(summary.usableFrameRanges, [frames(0x100, 0x500)])
    }

    func testUnsortedInputGivesSortedRanges() {
        let regions = [region(0x80_0000, 0x90_0000), region(0x10_0000, 0x20_0000)]
        let summary = BootMemorySummary(regions: regions, reserved: [PhysRange(start: 0x85_0000, end: 0x86_0000)])
        XCTAssertEqual(summary.usableFrameRanges, [frames(0x100, 0x200), frames(0x800, 0x850), frames(0x860, 0x900)])
    }

    func testMemoryAbove4GiBIsCountedButNotUsable() {
        let regions = [region(0x10_0000, 0xC000_0000), region(0x1_0000_0000, 0x2_4000_0000)]
        let summary = BootMemorySummary(regions: regions, reserved: [])
        XCTAssertEqual(summary.totalBytes, 0xBFF0_0000 + 0x1_4000_0000)
        XCTAssertEqual(summary.highestFrame, 0xC_0000)
        XCTAssertEqual(summary.usableFrameRanges, [frames(0x100, 0xC_0000)])

        // A region straddling 4 GiB is cut there.
        let straddling = BootMemorySummary(regions: [region(0xF000_0000, 0x1_1000_0000)], reserved: [])
        XCTAssertEqual(straddling.highestFrame, 0x10_0000)
        XCTAssertEqual(straddling.usableFrameRanges, [frames(0xF_0000, 0x10_0000)])
    }

    func testCallerCapOnFrames() {
        let summary = BootMemorySummary(regions: [region(0, 0x1000_0000)], reserved: [], maxFrame: 0x8000)
        XCTAssertEqual(summary.highestFrame, 0x8000)
        XCTAssertEqual(summary.usableFrameRanges, [frames(0, 0x8000)])
        XCTAssertEqual(summary.usableBytes, 0x800_0000)
        XCTAssertEqual(summary.totalBytes, 0x1000_0000)
    }

    func testHighestFrameIgnoresReservations() {
        // The frame table must cover reserved RAM too: the hypervisor image lives there.
        let summary = BootMemorySummary(regions: [region(0, 0x100_0000)], reserved: [PhysRange(start: 0x80_0000, end: 0x100_0000)])
        XCTAssertEqual(summary.highestFrame, 0x1000)
        XCTAssertEqual(summary.usableFrameRanges, [frames(0, 0x800)])
    }

    func testNothingAvailable() {
        let summary = BootMemorySummary(regions: [region(0, 0x1000, .reserved)], reserved: [])
        XCTAssertEqual(summary.usableFrameRanges, [])
        XCTAssertEqual(summary.highestFrame, 0)
        XCTAssertEqual(summary.usableBytes, 0)
        XCTAssertEqual(summary.reservedBytes, 0x1000)
        XCTAssertEqual(BootMemorySummary(regions: [], reserved: []).totalBytes, 0)
    }

    func testRangeHelpers() {
        XCTAssertNil(PhysRange(start: UInt64.max - 1, length: 2))
        XCTAssertEqual(PhysRange(start: 0x1000, length: 0x1000), PhysRange(start: 0x1000, end: 0x2000))
        XCTAssertFalse(PhysRange(start: 0, end: 0x1000).overlaps(PhysRange(start: 0x1000, end: 0x2000)))
        XCTAssertTrue(PhysRange(start: 0, end: 0x1001).overlaps(PhysRange(start: 0x1000, end: 0x2000)))
        XCTAssertFalse(PhysRange(start: 0x1800, end: 0x1800).overlaps(PhysRange(start: 0x1000, end: 0x2000)))
        XCTAssertNil(MemoryRegion(start: 0, length: 0, kind: .available))
        XCTAssertNil(MemoryRegion(start: UInt64.max, length: 1, kind: .available))
        XCTAssertEqual(FrameRange(first: 5, count: 3).end, 8)
    }
}
