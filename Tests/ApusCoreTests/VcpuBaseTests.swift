// VcpuBaseTests.swift: each vCPU's own top-level table and LDT in the paging core (VcpuBases.swift,
// DomainMemoryState): VCPUOP_initialise's base takes an L3 type and a page reference, NEW_BASEPTR and
// SET_LDT act on the current vCPU only, an L3 write to any vCPU's base is reported, teardown drops all;
// VCPUOP_initialise's tables (takeVCPUTables): its GDT frames typed, its own L3 given, nothing kept on refusal.

import XCTest
@testable import ApusCore

final class VcpuBaseTests: XCTestCase {
    func testInitialiseBaseTakesAnL3TypeAndPageReference() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        XCTAssertTrue(m.counts(s.l3) == (2, 2))
        // vCPU 1 on the same L3: one more of each.
        XCTAssertNil(m.frames.giveVCPUBase(s.l3, vcpu: 1, state: &m.states[1]!, memory: &m.memory))
        XCTAssertTrue(m.counts(s.l3) == (3, 3))
        XCTAssertEqual(m.states[1]!.base(ofVCPU: 1), s.l3)
        // vCPU 2 on its own copy (shares the L2s): validated as an L3 now.
        let own = m.f(1, 10)
        m.memory.setEntry(own, 0, m.memory.entry(s.l3, 0))
        m.memory.setEntry(own, 3, PTE.make(m.f(1, 11), PTE.table))
        XCTAssertNil(m.frames.giveVCPUBase(own, vcpu: 2, state: &m.states[1]!, memory: &m.memory))
        XCTAssertEqual(m.record(own).type, .l3)
        XCTAssertTrue(m.counts(own) == (1, 1))
        // A vCPU that has one already is refused.
        XCTAssertEqual(m.frames.giveVCPUBase(own, vcpu: 2, state: &m.states[1]!, memory: &m.memory), .badBaseVCPU)
        XCTAssertEqual(m.frames.giveVCPUBase(own, vcpu: 8, state: &m.states[1]!, memory: &m.memory), .badBaseVCPU)
        XCTAssertEqual(m.teardown(1), 0)
        m.assertDomainClean(1)
        for v in 0..<DomainMemoryState.vcpuCapacity { XCTAssertNil(m.states[1]!.base(ofVCPU: v)) }
    }

    func testInitialiseRefusesForeignAndInvalidTables() {
        let m = PagingMachine()
        _ = m.buildSpace(1)
        let t = m.buildSpace(2)
        let before = m.snapshot()
        XCTAssertEqual(m.frames.giveVCPUBase(t.l3, vcpu: 1, state: &m.states[1]!, memory: &m.memory), .foreignFrame)
        XCTAssertEqual(m.frames.giveVCPUBase(m.hypervisorFrames[0], vcpu: 1, state: &m.states[1]!, memory: &m.memory), .hypervisorFrame)
        // An L3 with a reserved flag in a present entry does not validate.
        let bad = m.f(1, 12)
        m.memory.setEntry(bad, 3, PTE.make(m.f(1, 13), PTE.table | PTE.ps))
        XCTAssertEqual(m.frames.giveVCPUBase(bad, vcpu: 1, state: &m.states[1]!, memory: &m.memory), .l3ReservedFlags)
        // A page with no slot 3 is no L3 this hypervisor can run on.
        XCTAssertEqual(m.frames.giveVCPUBase(m.f(1, 14), vcpu: 1, state: &m.states[1]!, memory: &m.memory), .l3SlotThreeMissing)
        XCTAssertEqual(m.snapshot(), before)
        XCTAssertNil(m.states[1]!.base(ofVCPU: 1))
    }

    func testNewBaseAndLDTActOnTheCurrentVCPU() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        XCTAssertNil(m.frames.giveVCPUBase(s.l3, vcpu: 1, state: &m.states[1]!, memory: &m.memory))
        let other = m.f(1, 10)
        m.memory.setEntry(other, 0, m.memory.entry(s.l3, 0))
        m.memory.setEntry(other, 3, PTE.make(m.f(1, 11), PTE.table))
        m.states[1]!.makeCurrent(vcpu: 1)
        XCTAssertNil(m.newBase(1, other))
        XCTAssertEqual(m.states[1]!.base(ofVCPU: 1), other)
        XCTAssertEqual(m.states[1]!.base(ofVCPU: 0), s.l3, "vCPU 0 keeps its base")
        XCTAssertTrue(m.counts(s.l3) == (2, 2), "vCPU 1's references on the old base went, the pin's and vCPU 0's stay")
        m.states[1]!.commitLDT(base: 0x4000, entries: 3)
        XCTAssertEqual(m.states[1]!.ldtEntries, 3)
        m.states[1]!.makeCurrent(vcpu: 0)
        XCTAssertEqual(m.states[1]!.baseL3, s.l3)
        XCTAssertEqual(m.states[1]!.ldtEntries, 0, "vCPU 0 has no LDT")
        XCTAssertEqual(m.states[1]!.ldt(ofVCPU: 1), VcpuLDT(base: 0x4000, entries: 3))
        // An L3 entry of vCPU 1's base, written while vCPU 0 is current, is reported.
        let outcome = m.update(1, [MMUUpdateRequest(ptr: UInt64(other) << 12 | 8, val: 0)])
        XCTAssertNil(outcome.error)
        XCTAssertTrue(outcome.currentBaseChanged)
        XCTAssertEqual(m.teardown(1), 0)
        XCTAssertEqual(m.states[1]!.ldt(ofVCPU: 1), VcpuLDT())
        m.assertDomainClean(1)
    }

    func testTheWalkMemoFollowsTheCurrentVCPUsBase() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        // vCPU 1: a copy of the L3 whose slot 0 names another L2 mapping another L1.
        let (l3b, l2b, l1b) = (m.f(1, 10), m.f(1, 11), m.f(1, 12))
        m.memory.setEntry(l3b, 0, PTE.make(l2b, PTE.table))
        m.memory.setEntry(l3b, 3, PTE.make(m.f(1, 13), PTE.table))      // its own slot-3 L2 (one L3 each)
        m.memory.setEntry(l2b, 0, PTE.make(l1b, PTE.table))
        XCTAssertNil(m.frames.giveVCPUBase(l3b, vcpu: 1, state: &m.states[1]!, memory: &m.memory))
        XCTAssertNil(m.uvm(1, 0x2000, PTE.make(m.f(1, 6), PTE.p | PTE.rw)).failureValue)
        XCTAssertEqual(PageTableEntry(raw: m.memory.entry(s.l1, 2)).frame, UInt64(m.f(1, 6)))
        m.states[1]!.makeCurrent(vcpu: 1)
        XCTAssertNil(m.uvm(1, 0x2000, PTE.make(m.f(1, 7), PTE.p | PTE.rw)).failureValue)
        XCTAssertEqual(PageTableEntry(raw: m.memory.entry(l1b, 2)).frame, UInt64(m.f(1, 7)), "vCPU 1's own L1")
        XCTAssertEqual(PageTableEntry(raw: m.memory.entry(s.l1, 2)).frame, UInt64(m.f(1, 6)), "vCPU 0's untouched")
        XCTAssertEqual(m.teardown(1), 0)
        m.assertDomainClean(1)
    }
}

final class VcpuContextTablesTests: XCTestCase {
    func testInitialiseTakesItsGDTAndItsOwnBase() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        // vCPU 1: its own L3 (slot 0 shared, its own slot-3 L2) and a GDT of two zeroed frames.
        let (own, ownHigh, g1, g2) = (m.f(1, 10), m.f(1, 11), m.f(1, 15), m.f(1, 16))
        m.memory.setEntry(own, 0, m.memory.entry(s.l3, 0))
        m.memory.setEntry(own, 3, PTE.make(ownHigh, PTE.table))
        XCTAssertNil(m.frames.takeVCPUTables(gdtFrames: [g1, g2], l3: own, vcpu: 1, state: &m.states[1]!, memory: &m.memory))
        XCTAssertEqual(m.states[1]!.base(ofVCPU: 1), own)
        XCTAssertEqual(m.states[1]!.base(ofVCPU: 0), s.l3, "vCPU 0 keeps the built base")
        XCTAssertTrue(m.states[1]!.isBase(own) && m.states[1]!.isBase(s.l3))
        XCTAssertEqual(m.record(own).type, .l3)
        XCTAssertTrue(m.counts(own) == (1, 1))
        for g in [g1, g2] {
            XCTAssertEqual(m.record(g).type, .segmentDescriptor)
            XCTAssertTrue(m.counts(g) == (1, 1))
        }
        // vCPU 2 on vCPU 0's own base: allowed (one more type and general reference), no GDT.
        XCTAssertNil(m.frames.takeVCPUTables(gdtFrames: [], l3: s.l3, vcpu: 2, state: &m.states[1]!, memory: &m.memory))
        XCTAssertTrue(m.counts(s.l3) == (3, 3))
        // What the hypervisor's teardown does: the GDT frames first, then the paging core.
        for g in [g1, g2] { m.frames.putDescriptorFrame(g, memory: &m.memory) }
        XCTAssertEqual(m.teardown(1), 0)
        m.assertDomainClean(1)
    }

    func testInitialiseRefusalsKeepNothing() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        let t = m.buildSpace(2)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        XCTAssertNil(m.frames.adoptInitialBase(t.l3, state: &m.states[2]!, memory: &m.memory))
        let g = m.f(1, 15)
        let before = m.snapshot()
        func take(_ gdt: [UInt32], _ l3: UInt32, vcpu: Int = 1) -> VcpuTablesRefusal? {
            m.frames.takeVCPUTables(gdtFrames: gdt, l3: l3, vcpu: vcpu, state: &m.states[1]!, memory: &m.memory)
        }
        // A GDT frame mapped writable (f(1, 4) is, through the built L1): the one typed before it goes back.
        XCTAssertEqual(take([g, m.f(1, 4)], s.l3), .gdtFrame(.frameMappedWritable))
        // cr3 not the domain's: another domain's L3, the hypervisor's frame, a frame past memory.
        XCTAssertEqual(take([g], t.l3), .baseNotOwned(.foreignFrame))
        XCTAssertEqual(take([g], m.hypervisorFrames[0]), .baseNotOwned(.hypervisorFrame))
        XCTAssertEqual(take([g], 0xFFFF_FFF0), .baseNotOwned(.frameBeyondMemory))
        // cr3 the domain's but no L3: an L1 in use, a data page mapped writable, a page with no slot 3.
        XCTAssertEqual(take([g], s.l1), .baseNotL3(.typeInUse))
        XCTAssertEqual(take([g], m.f(1, 4)), .baseNotL3(.frameMappedWritable))
        XCTAssertEqual(take([g], m.f(1, 14)), .baseNotL3(.l3SlotThreeMissing))
        // A vCPU past the capacity, then one that has a base already (vCPU 0).
        XCTAssertEqual(take([g], s.l3, vcpu: DomainMemoryState.vcpuCapacity), .vcpuHasBase)
        XCTAssertEqual(take([g], s.l3, vcpu: 0), .vcpuHasBase)
        XCTAssertEqual(m.snapshot(), before, "nothing taken is kept")
        XCTAssertNil(m.states[1]!.base(ofVCPU: 1))
        for r: VcpuTablesRefusal in [.gdtFrame(.frameMappedWritable), .baseNotOwned(.foreignFrame), .baseNotL3(.typeInUse), .vcpuHasBase] {
            XCTAssertEqual(r.error, .EINVAL, "Xen answers -EINVAL")
        }
        XCTAssertEqual(VcpuTablesRefusal.baseNotOwned(.foreignFrame).memoryError, .foreignFrame)
        XCTAssertNil(VcpuTablesRefusal.vcpuHasBase.memoryError)
    }
}

private extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
