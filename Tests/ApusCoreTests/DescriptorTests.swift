// Tests of segment and gate descriptor encoding and of the hypervisor's reserved GDT entries.
// They pin the bits guests and the CPU depend on; they must never test against values computed by the code under test.

import XCTest
import PVABI
@testable import ApusCore

final class DescriptorTests: XCTestCase {
    private func entries() -> [Int: SegmentDescriptor] {
        var map: [Int: SegmentDescriptor] = [:]
        for entry in HypervisorGDT.reservedEntries(tssBase: 0xFF12_3400, tssLimit: 0x67) {
            XCTAssertNil(map[entry.index], "two descriptors at index \(entry.index)")
            map[entry.index] = entry.descriptor
        }
        return map
    }

    func testEntriesAreInTheReservedPageAtTheirSelectors() {
        let map = entries()
        XCTAssertEqual(map.count, 7)
        for index in map.keys {
            XCTAssertGreaterThanOrEqual(index, Selector.firstReservedGDTEntry)
            XCTAssertLessThan(index, Selector.firstReservedGDTEntry + Selector.gdtEntriesPerPage)
        }
        XCTAssertEqual(Set(map.keys), Set([0xe008, 0xe010, 0xe019, 0xe021, 0xe02b, 0xe033, 0xe040].map { $0 >> 3 }))
    }

    func testGuestFlatSelectors() {
        let map = entries()
        let guests: [(UInt16, UInt8, Bool)] = [
            (Selector.flatRing1CS, 1, true), (Selector.flatRing1DS, 1, false), (Selector.flatRing1SS, 1, false),
            (Selector.flatRing3CS, 3, true), (Selector.flatRing3DS, 3, false), (Selector.flatRing3SS, 3, false),
        ]
        for (selector, ring, code) in guests {
            XCTAssertEqual(selector & 3, UInt16(ring), "RPL of \(selector)")
            XCTAssertEqual(selector & 4, 0, "GDT, not LDT")
            let d = try! XCTUnwrap(map[Int(selector >> 3)])
            XCTAssertEqual(d.base, 0)
            XCTAssertEqual(d.limitBytes, 0xF67F_FFFF)
            XCTAssertEqual(d.rawLimit, 0xF67FF)
            XCTAssertEqual(d.dpl, ring)
            XCTAssertTrue(d.present)
            XCTAssertTrue(d.isCodeOrData)
            XCTAssertFalse(d.isSystem)
            XCTAssertEqual(d.isCode, code)
            XCTAssertTrue(d.defaultBig)
            XCTAssertTrue(d.granularity4K)
            // Code: execute/read; data: read/write, growing up; accessed preset.
            XCTAssertEqual(d.type, code ? 0xB : 0x3)
        }
        // The last byte a guest segment reaches is the last byte of the M2P table.
        XCTAssertEqual(UInt64(map[Int(Selector.flatRing1DS >> 3)]!.limitBytes) + 1, UInt64(XenLayout.guestSegmentMaxAddr))
        XCTAssertEqual(map[Int(Selector.flatRing1CS >> 3)]!.raw, 0x00CF_BB00_0000_67FF)
    }

    func testHypervisorSelectors() {
        let map = entries()
        for (selector, code) in [(Selector.hypervisorCS, true), (Selector.hypervisorDS, false)] {
            XCTAssertEqual(selector & 3, 0)
            let d = try! XCTUnwrap(map[Int(selector >> 3)])
            XCTAssertEqual(d.base, 0)
            XCTAssertEqual(d.limitBytes, 0xFFFF_FFFF)
            XCTAssertEqual(d.dpl, 0)
            XCTAssertEqual(d.isCode, code)
            XCTAssertTrue(d.present && d.defaultBig && d.granularity4K)
        }
        XCTAssertEqual(map[Int(Selector.hypervisorCS >> 3)]!.raw, 0x00CF_9B00_0000_FFFF)
        XCTAssertEqual(map[Int(Selector.hypervisorDS >> 3)]!.raw, 0x00CF_9300_0000_FFFF)
    }

    func testTSS() {
        let d = entries()[Int(Selector.tss >> 3)]!
        XCTAssertEqual(d.base, 0xFF12_3400)
        XCTAssertEqual(d.rawLimit, 0x67)
        XCTAssertEqual(d.limitBytes, 0x67)
        XCTAssertEqual(d.type, 0x9)
        XCTAssertTrue(d.isSystem)
        XCTAssertFalse(d.isCode)
        XCTAssertEqual(d.dpl, 0)
        XCTAssertTrue(d.present)
        XCTAssertFalse(d.granularity4K)
        XCTAssertEqual(d.raw, 0xFF00_8912_3400_0067)
    }

    func testSegmentRoundTrip() {
        var seed: UInt64 = 0x5EED
        for _ in 0..<2000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let base = UInt32(truncatingIfNeeded: seed >> 16)
            let limit = UInt32(truncatingIfNeeded: seed >> 5) & 0xF_FFFF
            let type = UInt8(truncatingIfNeeded: seed >> 40) & 0xF
            let dpl = UInt8(truncatingIfNeeded: seed >> 50) & 3
            let bits = seed >> 58
            let d = SegmentDescriptor(
                base: base, limit: limit, type: type, isCodeOrData: bits & 1 != 0, dpl: dpl,
                present: bits & 2 != 0, available: bits & 4 != 0, defaultBig: bits & 8 != 0,
                granularity4K: bits & 16 != 0)
            XCTAssertEqual(d.base, base)
            XCTAssertEqual(d.rawLimit, limit)
            XCTAssertEqual(d.type, type)
            XCTAssertEqual(d.dpl, dpl)
            XCTAssertEqual(d.isCodeOrData, bits & 1 != 0)
            XCTAssertEqual(d.present, bits & 2 != 0)
            XCTAssertEqual(d.available, bits & 4 != 0)
            XCTAssertEqual(d.defaultBig, bits & 8 != 0)
            XCTAssertEqual(d.granularity4K, bits & 16 != 0)
            XCTAssertEqual(d.raw & (1 << 53), 0, "the L bit stays clear in 32-bit mode")
            XCTAssertEqual(SegmentDescriptor(raw: d.raw), d)
        }
    }

    func testGates() {
        let hypercall = GateDescriptor.interruptGate(offset: 0xFF01_2345, selector: Selector.hypervisorCS, dpl: 1)
        XCTAssertEqual(hypercall.raw, 0xFF01_AE00_E008_2345)
        XCTAssertEqual(hypercall.offset, 0xFF01_2345)
        XCTAssertEqual(hypercall.selector, 0xe008)
        XCTAssertEqual(hypercall.dpl, 1)
        XCTAssertEqual(hypercall.type, 0xE)
        XCTAssertTrue(hypercall.present)
        XCTAssertTrue(hypercall.isInterruptGate)
        XCTAssertFalse(hypercall.isTrapGate)

        let trap = GateDescriptor.trapGate(offset: 0x0010_BEEF, selector: Selector.hypervisorCS, dpl: 3)
        XCTAssertEqual(trap.raw, 0x0010_EF00_E008_BEEF)
        XCTAssertTrue(trap.isTrapGate)
        XCTAssertFalse(trap.isInterruptGate)
        XCTAssertEqual(trap.dpl, 3)
        XCTAssertEqual(GateDescriptor(raw: trap.raw), trap)

        XCTAssertFalse(GateDescriptor(raw: 0).present)
    }
}
