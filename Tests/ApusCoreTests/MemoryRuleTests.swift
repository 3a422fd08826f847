// Tests of the page-table entry rules, one good and one bad case each: ownership, writability, bits, superpages, L2/L3 typing and slot 3.
// They must never depend on the order frames were allocated in, only on the roles the fixture gives them.

import XCTest
@testable import ApusCore

final class MemoryRuleTests: XCTestCase {
    // MARK: L1 entries

    func testL1MapsOwnFramesReadOnlyAndWritable() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.getType(s.l1, .l1))
        XCTAssertEqual(m.record(s.l1).type, .l1)
        XCTAssertTrue(m.record(s.l1).flags.contains(.validated))
        XCTAssertTrue(m.counts(m.f(1, 4)) == (1, 1), "RW mapping: a general and a writable type reference")
        XCTAssertEqual(m.record(m.f(1, 4)).type, .writable)
        XCTAssertTrue(m.counts(m.f(1, 5)) == (1, 0), "RO mapping: a general reference only")
        m.putType(s.l1)
        m.assertDomainClean(1)
    }

    func testL1WritableMapOfOwnPageTableRefused() {
        let m = PagingMachine()
        let (l1a, l1b) = (m.f(1, 6), m.f(1, 7))
        XCTAssertNil(m.getType(l1b, .l1))
        m.memory.setEntry(l1a, 0, PTE.make(l1b, PTE.p | PTE.rw))
        XCTAssertEqual(m.getType(l1a, .l1), .pageTableMappedWritable)
        // Read-only is fine, including a read-only map of itself.
        m.memory.setEntry(l1a, 0, PTE.make(l1b, PTE.p))
        m.memory.setEntry(l1a, 1, PTE.make(l1a, PTE.p))
        XCTAssertNil(m.getType(l1a, .l1))
        // A writable self-map through an update is refused too.
        XCTAssertEqual(m.set(1, l1a, 2, PTE.make(l1a, PTE.p | PTE.rw)), .pageTableMappedWritable)
    }

    func testFrameMappedWritableCannotBecomeTable() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.getType(s.l1, .l1))
        XCTAssertEqual(m.getType(m.f(1, 4), .l1), .frameMappedWritable)
        XCTAssertEqual(m.getDescriptor(1, m.f(1, 4)), .frameMappedWritable)
    }

    func testL1MapOfHypervisorFrameRefusedButSharedInfoAllowed() {
        let m = PagingMachine()
        let l1 = m.f(1, 6)
        m.memory.setEntry(l1, 0, PTE.make(m.hypervisorFrames[0], PTE.p))
        XCTAssertEqual(m.getType(l1, .l1), .hypervisorFrame)
        m.memory.setEntry(l1, 0, PTE.make(m.sharedInfo[1]!, PTE.p | PTE.rw))
        XCTAssertNil(m.getType(l1, .l1))
        XCTAssertTrue(m.counts(m.sharedInfo[1]!) == (1, 1))
        // Domain 2's shared_info is not domain 1's extra.
        XCTAssertEqual(m.set(1, l1, 1, PTE.make(m.sharedInfo[2]!, PTE.p)), .hypervisorFrame)
        // An extra is a data page: never a table.
        XCTAssertNil(m.getType(m.f(1, 1), .l2))
        XCTAssertEqual(m.set(1, m.f(1, 1), 0, PTE.make(m.sharedInfo[1]!, PTE.table)), .hypervisorFrame)
    }

    func testL1MapOfForeignFreeAndMissingFramesRefused() {
        let m = PagingMachine()
        let l1 = m.f(1, 6)
        XCTAssertNil(m.getType(l1, .l1))
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(m.f(2, 4), PTE.p)), .foreignFrame)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(m.freeFrame, PTE.p)), .frameNotOwned)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(1, PTE.p)), .frameNotOwned)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(5000, PTE.p)), .frameBeyondMemory)
        XCTAssertNil(m.set(1, l1, 0, PTE.make(m.f(1, 4), PTE.p)))
        // Not present: anything goes, and nothing is referenced.
        XCTAssertNil(m.set(1, l1, 1, PTE.make(m.f(2, 4), 0)))
        XCTAssertTrue(m.counts(m.f(2, 4)) == (0, 0))
    }

    func testReservedAndDisallowedBits() {
        let m = PagingMachine()
        let l1 = m.f(1, 6)
        XCTAssertNil(m.getType(l1, .l1))
        let data = m.f(1, 4)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(data, PTE.p) | 1 << 52), .reservedBits)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(data, PTE.p) | 1 << 62), .reservedBits)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(data, PTE.p | PTE.g)), .l1CacheOrGlobalBits)
        XCTAssertEqual(m.set(1, l1, 0, PTE.make(data, PTE.p | PTE.ps)), .l1CacheOrGlobalBits)
        XCTAssertNil(m.set(1, l1, 0, PTE.make(data, PTE.p | PTE.rw | PTE.us | PTE.a | PTE.d) | PTE.nx))
        let l2 = m.f(1, 7)
        XCTAssertNil(m.getType(l2, .l2))
        XCTAssertEqual(m.set(1, l2, 0, PTE.make(l1, PTE.table) | 1 << 55), .reservedBits)
        XCTAssertEqual(m.set(1, l2, 0, PTE.make(l1, PTE.table | PTE.g)), .l2GlobalBit)
        XCTAssertNil(m.set(1, l2, 0, PTE.make(l1, PTE.table) | PTE.nx))
    }

    // MARK: L2 entries

    func testL2SuperpageRefused() {
        let m = PagingMachine()
        let l2 = m.f(1, 7)
        m.memory.setEntry(l2, 5, PTE.make(m.f(1, 4), PTE.p | PTE.rw | PTE.ps))
        XCTAssertEqual(m.getType(l2, .l2), .superpage)
        XCTAssertEqual(m.record(l2).type, .none)
        m.memory.setEntry(l2, 5, 0)
        XCTAssertNil(m.getType(l2, .l2))
        XCTAssertEqual(m.set(1, l2, 5, PTE.make(m.f(1, 8), PTE.p | PTE.ps)), .superpage)
    }

    func testL2MustPointAtL1NotAtL2() {
        let m = PagingMachine()
        let (l2a, l2b, l1) = (m.f(1, 7), m.f(1, 8), m.f(1, 6))
        XCTAssertNil(m.getType(l2b, .l2))
        // Linear/recursive: an L2 entry pointing at an L2 (another one, or itself).
        m.memory.setEntry(l2a, 0, PTE.make(l2b, PTE.table))
        XCTAssertEqual(m.getType(l2a, .l2), .typeInUse)
        m.memory.setEntry(l2a, 0, PTE.make(l2a, PTE.table))
        XCTAssertEqual(m.getType(l2a, .l2), .typeInUse)
        m.memory.setEntry(l2a, 0, PTE.make(l1, PTE.table))
        XCTAssertNil(m.getType(l2a, .l2))
        XCTAssertEqual(m.record(l1).type, .l1)
        XCTAssertEqual(m.set(1, l2a, 1, PTE.make(l2a, PTE.table)), .typeInUse)
        XCTAssertEqual(m.set(1, l2a, 1, PTE.make(m.f(2, 6), PTE.table)), .foreignFrame)
    }

    // MARK: L3 entries and slot 3

    func testL3AcceptsBuilderBitsAndHardwareCopyStripsThem() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.newBase(1, s.l3))
        let raw = m.memory.entry(s.l3, 0)
        XCTAssertEqual(EntryRules.hardwarePDPTEntry(raw), PTE.make(s.l2, PTE.p))
        XCTAssertEqual(EntryRules.hardwarePDPTEntry(PTE.make(9, PTE.p | 1 << 3 | 1 << 4 | PTE.rw)), PTE.make(9, PTE.p | 1 << 3 | 1 << 4))
        XCTAssertEqual(EntryRules.hardwarePDPTEntry(PTE.make(9, PTE.rw)), 0)
        // PS, G and NX are reserved in a PDPTE.
        let l3 = m.f(1, 10)
        m.memory.setEntry(l3, 3, PTE.make(m.f(1, 11), PTE.table | PTE.ps))
        XCTAssertEqual(m.newBase(1, l3), .l3ReservedFlags)
        m.memory.setEntry(l3, 3, PTE.make(m.f(1, 11), PTE.table) | PTE.nx)
        XCTAssertEqual(m.newBase(1, l3), .l3ReservedFlags)
    }

    func testL3SlotThreeMustBePresent() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        m.memory.setEntry(s.l3, 3, 0)
        let before = m.snapshot()
        XCTAssertEqual(m.newBase(1, s.l3), .l3SlotThreeMissing)
        XCTAssertEqual(m.snapshot(), before)
        XCTAssertNil(m.states[1]!.baseL3)
    }

    func testSlotThreeL2CannotBeShared() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.newBase(1, s.l3))
        // A second L3 whose slot 3 names the same L2.
        let other = m.f(1, 10)
        m.memory.setEntry(other, 3, PTE.make(s.l2h, PTE.table))
        XCTAssertEqual(m.pin(1, 3, other), .hypervisorL2Shared)
        // The same L2 in slots 0 and 3 of one L3.
        let both = m.f(1, 11)
        m.memory.setEntry(both, 0, PTE.make(m.f(1, 12), PTE.table))
        m.memory.setEntry(both, 3, PTE.make(m.f(1, 12), PTE.table))
        XCTAssertEqual(m.pin(1, 3, both), .hypervisorL2Shared)
        XCTAssertEqual(m.record(m.f(1, 12)).typeCount, 0)
        // Pinning the slot-3 L2 as a plain L2, or pointing a low slot at it.
        XCTAssertEqual(m.pin(1, 2, s.l2h), .hypervisorL2Shared)
        XCTAssertEqual(m.set(1, s.l3, 1, PTE.make(s.l2h, PTE.table)), .hypervisorL2Shared)
        // A plain L2 in use cannot become a slot-3 L2 either.
        let third = m.f(1, 13)
        m.memory.setEntry(third, 3, PTE.make(s.l2, PTE.table))
        XCTAssertEqual(m.pin(1, 3, third), .hypervisorL2Shared)
    }

    func testHypervisorSlotsWrittenOnValidationAndClearedAfter() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        // Junk the guest left in the hypervisor's slots is not validated, just overwritten.
        m.memory.setEntry(s.l2h, 500, PTE.make(m.hypervisorFrames[1], PTE.p | PTE.rw | PTE.us))
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertTrue(m.record(s.l2h).flags.contains(.hypervisorSlots))
        for n in 0..<HypervisorL2Slots.count {
            XCTAssertEqual(m.memory.entry(s.l2h, 428 + n), m.slots.entries[n])
        }
        XCTAssertTrue(m.counts(m.hypervisorFrames[0]) == (0, 0), "hypervisor slots are never ref-counted")
        // Guest updates of those slots are refused; slots below 428 follow the L2 rules.
        XCTAssertEqual(m.set(1, s.l2h, 428, 0), .hypervisorSlotUpdate)
        XCTAssertEqual(m.set(1, s.l2h, 511, PTE.make(m.f(1, 6), PTE.table)), .hypervisorSlotUpdate)
        XCTAssertEqual(MemoryError.hypervisorSlotUpdate.error, .EPERM, "Xen's mod_l2_entry answers -EPERM here")
        XCTAssertEqual(MemoryError.l3SlotThreeUpdate.error, .EINVAL, "and mod_l3_entry -EINVAL for slot 3")
        XCTAssertNil(m.set(1, s.l2h, 427, PTE.make(m.f(1, 6), PTE.table)))
        // L3 slot 3 of a table in use cannot change.
        XCTAssertEqual(m.set(1, s.l3, 3, PTE.make(m.f(1, 11), PTE.table)), .l3SlotThreeUpdate)
        XCTAssertEqual(m.set(1, s.l3, 3, 0), .l3SlotThreeUpdate)
        // Devalidation clears them.
        XCTAssertEqual(m.teardown(1), 0)
        for n in 0..<HypervisorL2Slots.count { XCTAssertEqual(m.memory.entry(s.l2h, 428 + n), 0) }
        m.assertDomainClean(1)
        // And the frame can now be a plain L2.
        XCTAssertNil(m.pin(1, 2, s.l2h))
    }

    // MARK: Descriptor frames

    func testDescriptorFrameChecksEveryEntry() {
        let m = PagingMachine()
        let gdt = m.f(1, 9)
        let flatRing1Code: UInt64 = 0x00CF_BB00_0000_FFFF // DPL 1, G, 4 GiB: truncated
        let ring0Code: UInt64 = 0x00CF_9B00_0000_FFFF  // raised to DPL 1 and truncated once accepted
        let expandDown: UInt64 = 0x00CF_B700_0000_FFFF
        m.memory.setEntry(gdt, 1, flatRing1Code)
        m.memory.setEntry(gdt, 400, ring0Code)
        m.memory.setEntry(gdt, 401, expandDown)
        XCTAssertEqual(m.getDescriptor(1, gdt), .descriptorRefused(.expandDown))
        XCTAssertTrue(m.counts(gdt) == (0, 0))
        XCTAssertEqual(m.memory.entry(gdt, 1), flatRing1Code, "nothing rewritten on refusal")
        XCTAssertEqual(m.memory.entry(gdt, 400), ring0Code, "nothing rewritten on refusal")
        m.memory.setEntry(gdt, 401, 0)
        XCTAssertNil(m.getDescriptor(1, gdt))
        XCTAssertEqual(m.memory.entry(gdt, 400), 0x00CF_BB00_0000_67FF, "DPL 0 raised to 1 in place, as Xen does")
        XCTAssertEqual(m.record(gdt).type, .segmentDescriptor)
        XCTAssertEqual(SegmentDescriptor(raw: m.memory.entry(gdt, 1)).limitBytes, 0xF67F_FFFF)
        // Typed: cannot be mapped writable, nor written with mmu_update.
        let l1 = m.f(1, 6)
        m.memory.setEntry(l1, 0, PTE.make(gdt, PTE.p | PTE.rw))
        XCTAssertEqual(m.getType(l1, .l1), .pageTableMappedWritable)
        XCTAssertEqual(m.set(1, gdt, 2, 0), .notAPageTable)
        m.putDescriptor(gdt)
        XCTAssertNil(m.set(1, gdt, 2, 0))
        XCTAssertNil(m.getType(l1, .l1))
        XCTAssertEqual(m.getDescriptor(1, m.f(2, 9)), .foreignFrame)
    }
}
