// Tests of the guest GDT/LDT descriptor check: each rule with a descriptor that passes and one that fails, then a seeded property test.
// Descriptors are written as hex literals or built field by field here; the tests never reuse the checker's own arithmetic.

import XCTest
import PVABI
@testable import ApusCore

final class GuestDescriptorTests: XCTestCase {
    /// A present 32-bit code or data descriptor.
    private func seg(
        base: UInt32 = 0, limit: UInt32, type: UInt8, dpl: UInt8, g: Bool = true, present: Bool = true
    ) -> UInt64 {
        SegmentDescriptor(
            base: base, limit: limit, type: type, isCodeOrData: true, dpl: dpl,
            present: present, defaultBig: true, granularity4K: g
        ).raw
    }

    /// A system descriptor of `type` whose bits 16-31 hold `selector` (gates) and DPL `dpl`.
    private func gate(type: UInt8, selector: UInt16, offset: UInt32 = 0xC010_0000, dpl: UInt8, present: Bool = true) -> UInt64 {
        var raw = UInt64(offset & 0xFFFF) | UInt64(selector) << 16 | UInt64(type) << 40 | UInt64(dpl) << 45
        raw |= UInt64(offset >> 16) << 48
        if present { raw |= 1 << 47 }
        return raw
    }

    private func refusal(_ raw: UInt64) -> DescriptorRefusal? {
        if case .refuse(let why) = DescriptorCheck.check(raw) { return why }
        return nil
    }

    private func accepted(_ raw: UInt64) -> UInt64? {
        if case .accept(let value) = DescriptorCheck.check(raw) { return value }
        return nil
    }

    // MARK: not present

    func testNotPresentAnythingIsAcceptedUnchanged() {
        let nasty: [UInt64] = [
            0x00CF_1A00_0000_FFFF,                              // DPL 0 flat code, P clear
            gate(type: 0xE, selector: 0xe008, dpl: 0, present: false), // interrupt gate into Xen CS
            gate(type: 0x9, selector: 0, dpl: 0, present: false),      // TSS
            seg(base: 0xFFFF_0000, limit: 0xFFFFF, type: 0x7, dpl: 3, present: false), // expand-down above Xen
            0x0000_0000_0000_0000,
            0xFFFF_7FFF_FFFF_FFFF,                              // every bit but P
        ]
        for raw in nasty {
            XCTAssertEqual(DescriptorCheck.check(raw), .accept(raw), String(raw, radix: 16))
        }
    }

    // MARK: code and data

    func testDPLZeroCodeAndDataAreRaisedToDPLOne() {
        // Xen's check_descriptor for 32-bit PV: DPL 0 becomes the guest kernel's ring, 1.
        // Linux's __KERNEL_CS (flat ring-0 code, 4 GiB): raised and truncated to the M2P's end.
        XCTAssertEqual(accepted(0x00CF_9A00_0000_FFFF), 0x00CF_BA00_0000_67FF)
        XCTAssertEqual(accepted(0x00CF_9200_0000_FFFF), 0x00CF_B200_0000_67FF)       // flat ring-0 data
        XCTAssertEqual(accepted(seg(limit: 0x10, type: 0x3, dpl: 0)), seg(limit: 0x10, type: 0x3, dpl: 1))
        // Raised, then judged like any DPL-1 segment: an expand-down one is still refused.
        XCTAssertEqual(refusal(seg(limit: 0x10, type: 0x7, dpl: 0)), .expandDown)
        XCTAssertEqual(refusal(seg(base: 0xF680_0000, limit: 0x10, type: 0x3, dpl: 0)), .baseInHypervisorArea)
    }

    func testDPLOneAndThreeFlatSegmentsBelowTheLimitAreAccepted() {
        for dpl: UInt8 in [1, 2, 3] {
            for type: UInt8 in [0x3, 0xB, 0xA, 0x2, 0xF /* conforming code */] {
                let raw = seg(limit: 0xF67FF, type: type, dpl: dpl)
                XCTAssertEqual(DescriptorCheck.check(raw), .accept(raw))
            }
        }
        // A Linux-style 32-bit user TLS segment: base 0x0804a000, 16 KiB, byte granular, DPL 3.
        let tls = seg(base: 0x0804_A000, limit: 0x3FFF, type: 0x3, dpl: 3, g: false)
        XCTAssertEqual(DescriptorCheck.check(tls), .accept(tls))
    }

    func testTheHypervisorsFlatGuestDescriptorsPassUnchanged() {
        let entries = HypervisorGDT.reservedEntries(tssBase: 0xFF12_3400, tssLimit: 0x67)
        let guestSelectors = [Selector.flatRing1CS, Selector.flatRing1DS, Selector.flatRing3CS, Selector.flatRing3DS]
        var seen = 0
        for entry in entries where guestSelectors.contains(where: { Int($0 >> 3) == entry.index }) {
            XCTAssertEqual(DescriptorCheck.check(entry.descriptor.raw), .accept(entry.descriptor.raw))
            seen += 1
        }
        XCTAssertEqual(seen, 4)
        XCTAssertEqual(DescriptorCheck.check(0x00CF_BB00_0000_67FF), .accept(0x00CF_BB00_0000_67FF))
        // Its hypervisor descriptors never pass as they are: the TSS is refused, the DPL-0 code and
        // data are raised to DPL 1 and cut off below the hypervisor, as Xen does for a 32-bit PV guest.
        for entry in entries where !guestSelectors.contains(where: { Int($0 >> 3) == entry.index }) {
            switch DescriptorCheck.check(entry.descriptor.raw) {
            case .refuse: break
            case .accept(let value):
                let d = SegmentDescriptor(raw: value)
                XCTAssertNotEqual(value, entry.descriptor.raw, "index \(entry.index)")
                XCTAssertEqual(d.dpl, 1, "index \(entry.index)")
                XCTAssertLessThan(UInt64(d.base) + UInt64(d.limitBytes), 0xF680_0000, "index \(entry.index)")
            }
        }
    }

    func testPageGranularLimitReachingTheHypervisorIsTruncated() {
        // The classic flat 4 GiB ring-1 code segment a native kernel would write, with DPL 1.
        XCTAssertEqual(accepted(0x00CF_BA00_0000_FFFF), 0x00CF_BA00_0000_67FF)
        // Data, DPL 3, 4 GiB: truncated to end at 0xF67FFFFF.
        XCTAssertEqual(accepted(0x00CF_F200_0000_FFFF), 0x00CF_F200_0000_67FF)
        // Ending exactly at 0xF6800000 (one page too far): truncated by a page.
        XCTAssertEqual(accepted(seg(limit: 0xF6800, type: 0x3, dpl: 1)), seg(limit: 0xF67FF, type: 0x3, dpl: 1))
        // Base 0x10000000, 4 GiB: wraps past 4 GiB; truncated to the 0xE6800 pages left.
        XCTAssertEqual(
            accepted(seg(base: 0x1000_0000, limit: 0xFFFFF, type: 0xB, dpl: 1)),
            seg(base: 0x1000_0000, limit: 0xE67FF, type: 0xB, dpl: 1))
        // An unaligned base keeps whole pages only: 0xF6800000 - 0x00000800 leaves 0xF67FF whole pages and a half.
        XCTAssertEqual(
            accepted(seg(base: 0x800, limit: 0xFFFFF, type: 0x3, dpl: 1)),
            seg(base: 0x800, limit: 0xF67FE, type: 0x3, dpl: 1))
    }

    func testByteGranularLimitReachingTheHypervisorIsRefused() {
        // Base 0xF67F0000 + 0xFFFF reaches 0xF67FFFFF: fine.
        let fits = seg(base: 0xF67F_0000, limit: 0xFFFF, type: 0x3, dpl: 1, g: false)
        XCTAssertEqual(DescriptorCheck.check(fits), .accept(fits))
        // One byte more reaches 0xF6800000.
        XCTAssertEqual(
            refusal(seg(base: 0xF67F_0001, limit: 0xFFFF, type: 0x3, dpl: 1, g: false)),
            .byteGranularLimitReachesHypervisor)
        XCTAssertEqual(
            refusal(seg(base: 0xF67E_0000, limit: 0xFFFFF, type: 0x3, dpl: 1, g: false)),
            .byteGranularLimitReachesHypervisor)
    }

    func testBaseInTheLastPageOrAboveIsRefused() {
        XCTAssertEqual(refusal(seg(base: 0xF67F_F000, limit: 0, type: 0x3, dpl: 1, g: false)), .baseInHypervisorArea)
        XCTAssertEqual(refusal(seg(base: 0xF680_0000, limit: 0, type: 0x3, dpl: 3)), .baseInHypervisorArea)
        XCTAssertEqual(refusal(seg(base: 0xFF00_0000, limit: 0xFFFFF, type: 0xB, dpl: 1)), .baseInHypervisorArea)
        // One page lower, with a tiny limit, is fine.
        let low = seg(base: 0xF67F_E000, limit: 0xFF, type: 0x3, dpl: 1, g: false)
        XCTAssertEqual(DescriptorCheck.check(low), .accept(low))
        // ...and with 4 KiB granularity and a large limit it is cut to its one page.
        XCTAssertEqual(
            accepted(seg(base: 0xF67F_E000, limit: 0xFFFFF, type: 0x3, dpl: 1)),
            seg(base: 0xF67F_E000, limit: 0x1, type: 0x3, dpl: 1))
    }

    func testExpandDownDataIsRefused() {
        for type: UInt8 in [0x4, 0x5, 0x6, 0x7] {
            XCTAssertEqual(refusal(seg(base: 0, limit: 0xFFFFF, type: type, dpl: 3)), .expandDown)
            XCTAssertEqual(refusal(seg(base: 0x1000_0000, limit: 0x10, type: type, dpl: 1, g: false)), .expandDown)
        }
        // Type bit 2 on code means conforming, not expand-down.
        let conforming = seg(limit: 0x1000, type: 0xE, dpl: 1)
        XCTAssertEqual(DescriptorCheck.check(conforming), .accept(conforming))
    }

    // MARK: system descriptors

    func testTSSAndLDTAndIDTGatesAreRefused() {
        XCTAssertEqual(refusal(SegmentDescriptor.tss32(base: 0x1000, limit: 0x67).raw), .taskStateSegment)
        XCTAssertEqual(refusal(gate(type: 0x9, selector: 0, dpl: 3)), .taskStateSegment)
        XCTAssertEqual(refusal(gate(type: 0xB, selector: 0, dpl: 1)), .taskStateSegment)
        XCTAssertEqual(refusal(gate(type: 0x1, selector: 0, dpl: 1)), .taskStateSegment)
        XCTAssertEqual(refusal(gate(type: 0x2, selector: 0, dpl: 1)), .localDescriptorTable)
        XCTAssertEqual(refusal(gate(type: 0x5, selector: 0x08, dpl: 3)), .taskGate)
        XCTAssertEqual(refusal(gate(type: 0xE, selector: 0xe019, dpl: 3)), .interruptOrTrapGate)
        XCTAssertEqual(refusal(gate(type: 0xF, selector: 0xe019, dpl: 3)), .interruptOrTrapGate)
        XCTAssertEqual(refusal(GateDescriptor.interruptGate(offset: 0x1000, selector: 0xe019, dpl: 1).raw), .interruptOrTrapGate)
        XCTAssertEqual(refusal(GateDescriptor.trapGate(offset: 0x1000, selector: 0xe019, dpl: 3).raw), .interruptOrTrapGate)
        XCTAssertEqual(refusal(gate(type: 0x4, selector: 0xe019, dpl: 3)), .sixteenBitGate)
        XCTAssertEqual(refusal(gate(type: 0x6, selector: 0xe019, dpl: 3)), .sixteenBitGate)
        XCTAssertEqual(refusal(gate(type: 0x7, selector: 0xe019, dpl: 3)), .sixteenBitGate)
        for reserved: UInt8 in [0x0, 0x8, 0xA, 0xD] {
            XCTAssertEqual(refusal(gate(type: reserved, selector: 0xe019, dpl: 3)), .reservedSystemType)
        }
    }

    func testCallGatesToGuestCodeAreAccepted() {
        let targets: [UInt16] = [
            0xe019, 0xe02b,             // FLAT_RING1_CS, FLAT_RING3_CS
            0x0007, 0x000F, 0xFFFC,     // LDT selectors, any index
            0x0061, 0x0073, 0x0008,     // guest GDT entries (Linux's kernel/user CS, and RPL 0)
            0xDFFB,                     // GDT index 7167, the last guest entry
        ]
        for target in targets {
            for dpl: UInt8 in [1, 3] {
                let raw = gate(type: 0xC, selector: target, dpl: dpl)
                XCTAssertEqual(DescriptorCheck.check(raw), .accept(raw), "target \(String(target, radix: 16))")
            }
        }
        XCTAssertTrue(DescriptorCheck.isGuestOwnedCodeSelector(0xe019))
        XCTAssertTrue(DescriptorCheck.isGuestOwnedCodeSelector(0xe02b))
        XCTAssertFalse(DescriptorCheck.isGuestOwnedCodeSelector(0xe008))
    }

    func testCallGatesToHypervisorSegmentsAreRefused() {
        let targets: [UInt16] = [
            0xe008, 0xe010, 0xe040,     // hypervisor CS, DS, TSS
            0xE000,                     // GDT index 7168, the first reserved entry
            0xe018, 0xe028,             // the flat guest CS indices but with RPL 0: not the ABI selectors
            0xe021, 0xe033,             // flat guest data, not code
            0xFFF8,                     // the last GDT index
        ]
        for target in targets {
            XCTAssertEqual(refusal(gate(type: 0xC, selector: target, dpl: 3)), .callGateTargetNotGuestOwned,
                           "target \(String(target, radix: 16))")
        }
    }

    func testCallGateDPLZeroIsRaisedAndReservedBitsAreRefused() {
        XCTAssertEqual(accepted(gate(type: 0xC, selector: 0xe019, dpl: 0)), gate(type: 0xC, selector: 0xe019, dpl: 1))
        XCTAssertEqual(refusal(gate(type: 0xC, selector: 0xe008, dpl: 0)), .callGateTargetNotGuestOwned)
        for bit in 37...39 {
            let raw = gate(type: 0xC, selector: 0xe019, dpl: 1) | (1 << UInt64(bit))
            XCTAssertEqual(refusal(raw), .callGateReservedBits)
        }
        // A parameter count of 31 (bits 32-36) is fine.
        let params = gate(type: 0xC, selector: 0xe019, dpl: 1) | (0x1F << 32)
        XCTAssertEqual(DescriptorCheck.check(params), .accept(params))
    }

    func testEveryRefusalHasASentence() {
        let all: [DescriptorRefusal] = [
            .baseInHypervisorArea, .byteGranularLimitReachesHypervisor, .expandDown,
            .taskStateSegment, .localDescriptorTable, .taskGate, .sixteenBitGate, .interruptOrTrapGate,
            .reservedSystemType, .callGateReservedBits, .callGateTargetNotGuestOwned,
        ]
        for refusal in all {
            let text = "\(refusal.reason)"
            XCTAssertGreaterThan(text.count, 30)
            XCTAssertTrue(text.hasSuffix("."), text)
        }
    }

    // MARK: property

    /// Every accepted present descriptor is safe, over random raw values biased toward the edges.
    func testAcceptedDescriptorsAreAlwaysSafe() {
        var rng = SplitMix64(seed: 0xA905_0001)
        var acceptedCodeData = 0, acceptedGates = 0, truncated = 0
        for i in 0..<200_000 {
            var raw = rng.next()
            switch i % 4 {
            case 0: raw |= 1 << 47                                  // present
            case 1: raw |= (1 << 47) | (1 << 44)                    // present code/data
            case 2:                                                 // present call gate, DPL from the random bits
                raw = (raw & ~(UInt64(0x1F) << 40)) | (UInt64(0xC) << 40) | (1 << 47)
                raw &= ~(UInt64(0x7) << 37)
                if rng.next() & 1 == 0 { raw = (raw & ~(UInt64(0xFFFF) << 16)) | UInt64([0xe019, 0xe02b, 0xe008, 0xE000, 0x0007, 0x0061][Int(rng.next() % 6)]) << 16 }
            default:                                                // present code/data with a base near the edge
                raw |= (1 << 47) | (1 << 44)
                let base = UInt64(0xF67F_0000) &+ (rng.next() % 0x20000) &- 0x10000
                raw = (raw & ~((UInt64(0xFF_FFFF) << 16) | (UInt64(0xFF) << 56))) | ((base & 0xFF_FFFF) << 16) | ((base >> 24) << 56)
            }
            guard case .accept(let out) = DescriptorCheck.check(raw) else { continue }
            let d = SegmentDescriptor(raw: out)
            guard d.present else { XCTAssertEqual(out, raw); continue }
            // Only the limit may change, and a DPL of 0 becomes 1.
            let limitBits = UInt64(0xFFFF) | (UInt64(0xF) << 48)
            let dplBits = UInt64(3) << 45
            XCTAssertEqual(out & ~limitBits & ~dplBits, raw & ~limitBits & ~dplBits)
            let rawDPL = (raw >> 45) & 3
            XCTAssertEqual(UInt64(d.dpl), rawDPL == 0 ? 1 : rawDPL)
            if out & limitBits != raw & limitBits { truncated += 1 }
            if d.isCodeOrData {
                acceptedCodeData += 1
                XCTAssertGreaterThanOrEqual(d.dpl, 1)
                if !d.isCode && d.type & 0x4 != 0 {
                    // Grows down: valid offsets (limit, 4 GiB) reach [base + limit + 1 - 4 GiB, base), below the hypervisor.
                    let start = UInt64(d.base) + UInt64(d.limitBytes) + 1
                    XCTAssertTrue(d.granularity4K && d.defaultBig && start >= 1 << 32 && start - (1 << 32) < UInt64(d.base),
                                  "expand-down accepted: \(String(raw, radix: 16))")
                    XCTAssertLessThan(d.base, 0xF680_0000, String(raw, radix: 16))
                } else {
                    XCTAssertLessThan(UInt64(d.base) + UInt64(d.limitBytes), 0xF680_0000, String(raw, radix: 16))
                }
            } else {
                acceptedGates += 1
                XCTAssertEqual(out & ~dplBits, raw & ~dplBits)
                XCTAssertEqual(d.type, 0xC)
                XCTAssertGreaterThanOrEqual(d.dpl, 1)
                let target = UInt16(truncatingIfNeeded: out >> 16)
                XCTAssertTrue(
                    target & 4 != 0 || target >> 3 < 7168 || target == 0xe019 || target == 0xe02b,
                    "gate to \(String(target, radix: 16))")
            }
        }
        // The generator really exercised each kind of acceptance.
        XCTAssertGreaterThan(acceptedCodeData, 1000)
        XCTAssertGreaterThan(acceptedGates, 1000)
        XCTAssertGreaterThan(truncated, 100)
    }
}

