// Tests of the direct system-call gate rule (Xen's 32-bit "fast trap"): which trap-table entries for 0x80
// get a DPL-3 trap gate straight to the guest kernel, and the refusals that keep the bounce.
// Expected gates are written out as raw descriptor values; the tests never rebuild them with the code under test.

import XCTest
import PVABI
@testable import ApusCore

final class DirectTrapGateTests: XCTestCase {
    /// DPL 3, events not masked.
    private let ring3Flags: UInt8 = 3
    private let handler: UInt32 = 0xC010_2340
    /// A guest GDT: entry 12 ring-1 code (Linux's __KERNEL_CS), 13 ring-1 data, 14 conforming ring-1
    /// code, 15 not present code, 16 ring-3 code, 17 DPL-0 code (never stored by the descriptor check,
    /// refused anyway), 18 a call gate, 19 ring-1 code with a 1 MiB limit.
    private let gdt: [Int: UInt64] = [
        12: 0x00CF_BB00_0000_67FF,
        13: 0x00CF_B300_0000_67FF,
        14: 0x00CF_BF00_0000_67FF,
        15: 0x00CF_3B00_0000_67FF,
        16: 0x00CF_FB00_0000_67FF,
        17: 0x00CF_9B00_0000_67FF,
        18: 0x0000_EC00_E019_1000,
        19: 0x00C0_BB00_0000_00FF,
    ]
    /// An LDT: entry 0 ring-1 code, entry 1 ring-1 data.
    private let ldt: [Int: UInt64] = [0: 0x00CF_BB00_0000_67FF, 1: 0x00CF_B300_0000_67FF]

    private func route(flags: UInt8? = nil, cs: UInt16, address: UInt32? = nil, gdtEntries: Int = 20, ldtEntries: Int = 2) -> DirectTrapRoute {
        let entry = TrapInfo(vector: 0x80, flags: flags ?? ring3Flags, cs: cs, address: address ?? handler)
        return DirectTrapGate.route(entry: entry, gdtEntries: gdtEntries, ldtEntries: ldtEntries) { selector in
            let index = Int(selector >> 3)
            return (selector & 4 != 0 ? self.ldt[index] : self.gdt[index]) ?? 0
        }
    }

    // MARK: eligible

    func testFlatRing1SelectorGetsATrapGateForRing3() {
        // Offset 0xC0102340 split 0x2340 / 0xC010, selector 0xe019, type 0xF (32-bit trap gate), DPL 3, present.
        XCTAssertEqual(route(cs: 0xe019), .gate(GateDescriptor(raw: 0xC010_EF00_E019_2340)))
        // With no guest GDT at all.
        XCTAssertEqual(route(cs: 0xe019, gdtEntries: 0, ldtEntries: 0), .gate(GateDescriptor(raw: 0xC010_EF00_E019_2340)))
    }

    func testGuestGDTRing1CodeSelectorIsEligible() {
        XCTAssertEqual(route(cs: 0x61), .gate(GateDescriptor(raw: 0xC010_EF00_0061_2340)))
    }

    func testLDTRing1CodeSelectorIsEligible() {
        // LDT index 0 is a real entry (only GDT index 0 is null).
        XCTAssertEqual(route(cs: 0x05), .gate(GateDescriptor(raw: 0xC010_EF00_0005_2340)))
    }

    func testTheGateIsATrapGateSoInterruptsStayOn() {
        guard case .gate(let g) = route(cs: 0xe019) else { return XCTFail("expected a gate") }
        XCTAssertTrue(g.isTrapGate)
        XCTAssertFalse(g.isInterruptGate)
        XCTAssertEqual(g.dpl, 3)
        XCTAssertTrue(g.present)
    }

    // MARK: refusals from the trap-table entry

    func testNoHandlerIsBounced() {
        XCTAssertEqual(route(cs: 0xe019, address: 0), .bounce(.noHandler))
    }

    func testDPLBelowThreeIsRefused() {
        for dpl: UInt8 in 0...2 {
            XCTAssertEqual(route(flags: dpl, cs: 0xe019), .bounce(.notFromRing3), "DPL \(dpl)")
        }
    }

    func testEventsMaskedOnEntryIsRefused() {
        // Bit 2 of trap_info.flags (TI_GET_IF): Linux's interrupt gate for 0x80 asks for it.
        XCTAssertEqual(route(flags: 3 | 4, cs: 0xe019), .bounce(.masksEvents))
        XCTAssertEqual(route(flags: 3 | 4, cs: 0x61), .bounce(.masksEvents))
    }

    // MARK: refusals from the selector

    func testNullSelectorIsRefused() {
        XCTAssertEqual(route(cs: 0x0000), .bounce(.nullSelector))
        XCTAssertEqual(route(cs: 0x0001), .bounce(.nullSelector))
        XCTAssertEqual(route(cs: 0x0003), .bounce(.nullSelector))
    }

    func testRingZeroSelectorsAreRefused() {
        // The hypervisor's own code segment, with any RPL: a gate ignores the RPL, so it would enter ring 0.
        XCTAssertEqual(route(cs: Selector.hypervisorCS), .bounce(.notRing1Selector))
        XCTAssertEqual(route(cs: Selector.hypervisorCS | 1), .bounce(.hypervisorSelector))
        XCTAssertEqual(route(cs: Selector.hypervisorCS | 3), .bounce(.notRing1Selector))
        // RPL 0 on a guest selector.
        XCTAssertEqual(route(cs: 0x60), .bounce(.notRing1Selector))
        // A DPL-0 code descriptor (the descriptor check raises these; the rule refuses them all the same).
        XCTAssertEqual(route(cs: 17 << 3 | 1), .bounce(.notRing1Segment))
    }

    func testOtherReservedPageSelectorsAreRefused() {
        for selector in [Selector.hypervisorDS | 1, Selector.flatRing1DS, Selector.tss | 1, Selector.hypervisorLDT | 1, UInt16(7168 << 3 | 1)] {
            XCTAssertEqual(route(cs: selector), .bounce(.hypervisorSelector), "selector \(selector)")
        }
        // The flat ring-3 code selector is refused by its RPL before its page.
        XCTAssertEqual(route(cs: Selector.flatRing3CS), .bounce(.notRing1Selector))
    }

    func testSelectorBeyondTheGDTOrLDTIsRefused() {
        XCTAssertEqual(route(cs: 0x61, gdtEntries: 12), .bounce(.beyondTable))
        XCTAssertEqual(route(cs: 0x61, gdtEntries: 0), .bounce(.beyondTable))
        XCTAssertEqual(route(cs: 0x61, gdtEntries: 13), .gate(GateDescriptor(raw: 0xC010_EF00_0061_2340)))
        XCTAssertEqual(route(cs: 0x05, ldtEntries: 0), .bounce(.beyondTable))
        // Past every guest entry but below the reserved page.
        XCTAssertEqual(route(cs: UInt16(7167 << 3 | 1), gdtEntries: 7168), .bounce(.notPresent))
    }

    // MARK: refusals from the descriptor

    func testDataDescriptorIsRefused() {
        XCTAssertEqual(route(cs: 13 << 3 | 1), .bounce(.notCode))
        XCTAssertEqual(route(cs: 1 << 3 | 5), .bounce(.notCode))          // LDT data
    }

    func testSystemDescriptorIsRefused() {
        XCTAssertEqual(route(cs: 18 << 3 | 1), .bounce(.notCode))
    }

    func testConformingCodeIsRefused() {
        XCTAssertEqual(route(cs: 14 << 3 | 1), .bounce(.conforming))
    }

    func testNotPresentCodeIsRefused() {
        XCTAssertEqual(route(cs: 15 << 3 | 1), .bounce(.notPresent))
        XCTAssertEqual(route(cs: 11 << 3 | 1), .bounce(.notPresent))      // an empty entry inside the GDT
    }

    func testRingThreeCodeSegmentIsRefused() {
        XCTAssertEqual(route(cs: 16 << 3 | 1), .bounce(.notRing1Segment))
    }

    func testHandlerBeyondTheSegmentLimitIsRefused() {
        // Entry 19 ends at 0x000FFFFF.
        XCTAssertEqual(route(cs: 19 << 3 | 1, address: 0x0010_0000), .bounce(.handlerBeyondLimit))
        XCTAssertEqual(route(cs: 19 << 3 | 1, address: 0x000F_FFF0), .gate(GateDescriptor(raw: 0x000F_EF00_0099_FFF0)))
    }

    func testEveryRefusalHasAReason() {
        let all: [DirectTrapRefusal] = [.noHandler, .notFromRing3, .masksEvents, .nullSelector, .notRing1Selector, .hypervisorSelector,
                                        .beyondTable, .notPresent, .notCode, .conforming, .notRing1Segment, .handlerBeyondLimit]
        for r in all { XCTAssertFalse("\(r.reason)".isEmpty) }
    }

    // MARK: the ring-1 stack

    func testKernelStackGoesToTheTSS() {
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0xe021, esp: 0xC040_0000) == (0xe021, 0xC040_0000))
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0x69, esp: 0xF580_0000) == (0x69, 0xF580_0000))
    }

    func testAStackTheCPUWouldPushIntoTheHypervisorGetsANullSS() {
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0xe021, esp: 0xF580_0004) == (0, 0))
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0xe021, esp: 0xFF00_0000) == (0, 0))
        // A frame that would wrap below 0.
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0xe021, esp: 0x10) == (0, 0))
        // No stack_switch yet.
        XCTAssertTrue(DirectTrapGate.ring1Stack(ss: 0, esp: 0) == (0, 0))
    }
}
