// DeviceMemoryRuleTests.swift: which frames may be mapped as device memory: QEMU's firmware map
// (VGA, BIOS and PCI windows yes; RAM, even a partial frame of it, no; the APICs no), the domain's
// given ranges, the uncached entry, and random firmware maps against a byte-overlap reference.

import XCTest
import PVABI
@testable import ApusCore

final class DeviceMemoryRuleTests: XCTestCase {
    func region(_ start: UInt64, _ end: UInt64, _ kind: MemoryRegionKind) -> MemoryRegion {
        MemoryRegion(start: start, length: end - start, kind: kind)!
    }

    /// The map SeaBIOS gives a 1536 MiB QEMU machine.
    var qemuMap: [MemoryRegion] {
        [region(0, 0x9FC00, .available), region(0x9FC00, 0xA0000, .reserved), region(0xF0000, 0x10_0000, .reserved),
         region(0x10_0000, 0x5FFE_0000, .available), region(0x5FFE_0000, 0x6000_0000, .reserved),
         region(0xFEFF_C000, 0xFF00_0000, .reserved), region(0xFFFC_0000, 0x1_0000_0000, .reserved)]
    }

    let everything = FrameNumberRanges([FrameNumberRange(first: 0, last: 0xFFFF_FFFF)!])

    func testQEMUMachine() {
        let rule = DeviceMemoryRule(firmwareMap: qemuMap)
        XCTAssertNil(rule.check(frame: 0xA0, permitted: everything))          // VGA
        XCTAssertNil(rule.check(frame: 0xF0, permitted: everything))          // BIOS
        XCTAssertNil(rule.check(frame: 0xFEBF0, permitted: everything))       // a PCI BAR
        XCTAssertNil(rule.check(frame: 0x5FFE0, permitted: everything))       // ACPI tables (reserved)
        XCTAssertEqual(rule.check(frame: 0x9F, permitted: everything), .ram)  // partly RAM
        XCTAssertEqual(rule.check(frame: 0, permitted: everything), .ram)
        XCTAssertEqual(rule.check(frame: 0x100, permitted: everything), .ram)
        XCTAssertEqual(rule.check(frame: 0x5FFDF, permitted: everything), .ram)
        XCTAssertEqual(rule.check(frame: 0xFEE00, permitted: everything), .hypervisorDevice)
        XCTAssertEqual(rule.check(frame: 0xFEC00, permitted: everything), .hypervisorDevice)
        XCTAssertNil(rule.check(frame: 0xFED00, permitted: everything))       // HPET: not the hypervisor's
        let bar = FrameNumberRanges([FrameNumberRange(first: 0xFEBF0, last: 0xFEBF3)!])
        XCTAssertNil(rule.check(frame: 0xFEBF3, permitted: bar))
        XCTAssertEqual(rule.check(frame: 0xFEBF4, permitted: bar), .notGiven)
        XCTAssertEqual(rule.check(frame: 0xA0, permitted: FrameNumberRanges()), .notGiven)
        XCTAssertEqual(rule.check(frame: 0x200, permitted: FrameNumberRanges()), .ram)   // RAM first
    }

    func testBadMemoryAndAnOverfullMapRefuseEverything() {
        let rule = DeviceMemoryRule(firmwareMap: [region(0x10_0000, 0x20_0000, .bad)])
        XCTAssertEqual(rule.check(frame: 0x150, permitted: everything), .badMemory)
        var many: [MemoryRegion] = []
        for i in 0..<UInt64(FrameNumberRanges.capacity + 1) { many.append(region(i * 0x2000, i * 0x2000 + 0x1000, .available)) }
        let full = DeviceMemoryRule(firmwareMap: many)
        XCTAssertFalse(full.complete)
        XCTAssertEqual(full.check(frame: 0xFEBF0, permitted: everything), .ram)
    }

    func testUncachedEntry() {
        let wb: UInt64 = 0xFEBF_0000 | 0x63              // present, RW, accessed, dirty
        XCTAssertEqual(DeviceMemoryRule.uncached(wb), wb | 0x18)
        XCTAssertEqual(DeviceMemoryRule.uncached(wb | 0x80), wb | 0x18)   // PAT cleared
        XCTAssertEqual(DeviceMemoryRule.uncached(wb | 0x18), wb | 0x18)
        XCTAssertEqual(DeviceMemoryRule.uncached(1 << 63 | wb), 1 << 63 | wb | 0x18)
    }

    /// Random firmware maps: a frame is RAM when any of its bytes lies in an available region.
    func testPropertyAgainstByteOverlap() {
        var rng = SplitMix64(seed: 0xD0_0001)
        for _ in 0..<400 {
            var map: [MemoryRegion] = []
            var at: UInt64 = UInt64(rng.below(0x4000))
            for _ in 0..<rng.below(12) {
                let len = UInt64(rng.below(0x20000) + 1)
                let kinds: [MemoryRegionKind] = [.available, .reserved, .acpiReclaimable, .acpiNVS, .bad]
                map.append(region(at, at + len, rng.pick(kinds)))
                at += len + UInt64(rng.chance(50) ? rng.below(0x6000) : 0)
            }
            let rule = DeviceMemoryRule(firmwareMap: map)
            for _ in 0..<60 {
                let frame = UInt32(rng.chance(90) ? rng.below(Int(at >> 12) + 4) : 0xFEC00 + rng.below(0x400))
                let lo = UInt64(frame) << 12, hi = lo + 0x1000
                func touches(_ k: MemoryRegionKind) -> Bool { map.contains { $0.kind == k && $0.start < hi && lo < $0.start + $0.length } }
                let expected: DeviceFrameRefusal?
                if touches(.available) { expected = .ram }
                else if touches(.bad) { expected = .badMemory }
                else if (0xFEC00...0xFECFF).contains(frame) || (0xFEE00...0xFEEFF).contains(frame) { expected = .hypervisorDevice }
                else { expected = nil }
                XCTAssertEqual(rule.check(frame: frame, permitted: everything), expected, "frame \(frame)")
            }
        }
    }
}
