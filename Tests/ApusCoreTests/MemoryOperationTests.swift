// Tests of the paging hypercalls' semantics: mmu_update, mmuext_op, update_va_mapping, ptwr, rollback, pin balance and teardown.
// They must never reach into the frame table except to read counts: every change goes through the operations under test.

import XCTest
import PVABI
@testable import ApusCore

final class MemoryOperationTests: XCTestCase {
    // MARK: Rollback

    func testL1RollbackGivesBackEveryReference() {
        let m = PagingMachine()
        let l1 = m.f(1, 0)
        for i in 0..<300 {
            let target = m.f(1, 1 + i % 8)
            m.memory.setEntry(l1, i, PTE.make(target, i % 2 == 0 ? PTE.p | PTE.rw : PTE.p))
        }
        m.memory.setEntry(l1, 300, PTE.make(m.f(2, 0), PTE.p))
        m.memory.setEntry(l1, 301, PTE.make(m.f(1, 1), PTE.p))
        let before = m.snapshot()
        XCTAssertEqual(m.getType(l1, .l1), .foreignFrame)
        XCTAssertEqual(m.snapshot(), before)
        m.assertDomainClean(1)
    }

    func testL2RollbackDevalidatesTheL1sItValidated() {
        let m = PagingMachine()
        let l2 = m.f(1, 0)
        let l1s = (1...4).map { m.f(1, $0) }
        for (n, l1) in l1s.enumerated() {
            m.memory.setEntry(l1, 7, PTE.make(m.f(1, 10 + n), PTE.p | PTE.rw))
        }
        for i in 0..<300 { m.memory.setEntry(l2, i, PTE.make(l1s[i % 4], PTE.table)) }
        m.memory.setEntry(l2, 300, PTE.make(m.f(1, 5), PTE.table | PTE.ps))
        let before = m.snapshot()
        XCTAssertEqual(m.getType(l2, .l2), .superpage)
        XCTAssertEqual(m.snapshot(), before)
        m.assertDomainClean(1)
    }

    func testL3RollbackReleasesSlotsZeroToTwo() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        m.memory.setEntry(s.l3, 1, PTE.make(m.f(1, 10), PTE.table))
        m.memory.setEntry(s.l3, 2, PTE.make(m.f(1, 11), PTE.table))
        m.memory.setEntry(m.f(1, 11), 0, PTE.make(s.l1, PTE.table))
        m.memory.setEntry(s.l2h, 0, PTE.make(m.f(2, 3), PTE.table))
        let before = m.snapshot()
        XCTAssertEqual(m.pin(1, 3, s.l3), .foreignFrame)
        XCTAssertEqual(m.snapshot(), before)
        XCTAssertEqual(m.memory.entry(s.l2h, 428), 0, "no hypervisor slot written on refusal")
        m.assertDomainClean(1)
    }

    // MARK: Pins and base pointers

    func testPinTwiceAndUnpinNotPinned() {
        let m = PagingMachine()
        let l1 = m.f(1, 6)
        XCTAssertEqual(m.unpin(1, l1), .notPinned)
        XCTAssertNil(m.pin(1, 1, l1))
        XCTAssertEqual(m.pin(1, 1, l1), .alreadyPinned)
        XCTAssertEqual(m.pin(1, 2, l1), .alreadyPinned)
        XCTAssertEqual(m.pin(2, 1, l1), .foreignFrame)
        XCTAssertEqual(m.unpin(2, l1), .foreignFrame)
        XCTAssertEqual(m.extError(1, .pinL4Table, l1), .pinLevelUnsupported)
        XCTAssertEqual(m.states[1]!.pinnedCount, 1)
        XCTAssertNil(m.unpin(1, l1))
        XCTAssertEqual(m.unpin(1, l1), .notPinned)
        m.assertDomainClean(1)
    }

    func testUnpinTableInUseKeepsItValidated() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 1, s.l1))
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertTrue(m.counts(s.l1) == (2, 2))
        XCTAssertNil(m.unpin(1, s.l1))
        XCTAssertTrue(m.counts(s.l1) == (1, 1))
        XCTAssertTrue(m.record(s.l1).flags.contains(.validated))
        XCTAssertNil(m.unpin(1, s.l3))
        m.assertDomainClean(1)
    }

    func testPinUseAsBaseSwapBaseUnpinBalances() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertEqual(m.ext(1, .newBaseptr, s.l3), .success(.baseChanged(old: nil, new: s.l3)))
        XCTAssertTrue(m.counts(s.l3) == (2, 2))
        // A second address space sharing the low L2, with its own slot-3 L2.
        let l3b = m.f(1, 10)
        m.memory.setEntry(l3b, 0, PTE.make(s.l2, PTE.table))
        m.memory.setEntry(l3b, 3, PTE.make(m.f(1, 11), PTE.table))
        XCTAssertEqual(m.ext(1, .newBaseptr, l3b), .success(.baseChanged(old: s.l3, new: l3b)))
        XCTAssertTrue(m.counts(s.l3) == (1, 1))
        XCTAssertTrue(m.counts(s.l2) == (2, 2))
        XCTAssertEqual(m.states[1]!.baseL3, l3b)
        XCTAssertNil(m.unpin(1, s.l3))
        XCTAssertTrue(m.counts(s.l2) == (1, 1))
        XCTAssertEqual(m.record(s.l2h).type, .none)
        XCTAssertEqual(m.teardown(1), 0)
        m.assertDomainClean(1)
    }

    func testNewBaseptrRefusals() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 1, s.l1))
        XCTAssertEqual(m.newBase(1, s.l1), .typeInUse)
        XCTAssertEqual(m.newBase(1, m.f(1, 8)), .l3SlotThreeMissing, "an empty frame is no L3: slot 3 is missing")
        XCTAssertEqual(m.newBase(1, m.f(2, 0)), .foreignFrame)
        XCTAssertEqual(m.newBase(1, m.hypervisorFrames[0]), .hypervisorFrame)
        XCTAssertNil(m.newBase(1, s.l3))
        // The same base again is fine and balanced.
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertTrue(m.counts(s.l3) == (1, 1))
    }

    // MARK: mmu_update

    func testMMUUpdateStopsAtFirstRefusal() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.newBase(1, s.l3))
        let slot = { (i: Int) in UInt64(s.l1) << 12 | UInt64(i) << 3 }
        let outcome = m.update(1, [
            MMUUpdateRequest(ptr: slot(2), val: PTE.make(m.f(1, 6), PTE.p | PTE.rw)),
            MMUUpdateRequest(ptr: UInt64(m.f(1, 6)) << 12 | 1, val: 77),
            MMUUpdateRequest(ptr: slot(3), val: PTE.make(m.f(2, 6), PTE.p)),
            MMUUpdateRequest(ptr: slot(4), val: PTE.make(m.f(1, 7), PTE.p)),
        ])
        XCTAssertEqual(outcome.done, 2)
        XCTAssertEqual(outcome.error, .foreignFrame)
        XCTAssertEqual(outcome.error?.errno, 22)
        XCTAssertFalse(outcome.currentBaseChanged)
        XCTAssertEqual(m.memory.entry(s.l1, 4), 0)
        XCTAssertEqual(m.m2p.entries[m.f(1, 6)], 77)
        XCTAssertTrue(m.counts(m.f(1, 6)) == (1, 1))
        let l3Change = m.update(1, [MMUUpdateRequest(ptr: UInt64(s.l3) << 12 | 8, val: 0)])
        XCTAssertTrue(l3Change.currentBaseChanged)
    }

    func testMachphysForForeignFrameRefused() {
        let m = PagingMachine()
        let foreign = m.update(1, [MMUUpdateRequest(ptr: UInt64(m.f(2, 0)) << 12 | 1, val: 3)])
        XCTAssertEqual(foreign.error, .foreignFrame)
        XCTAssertEqual(m.update(1, [MMUUpdateRequest(ptr: UInt64(m.hypervisorFrames[0]) << 12 | 1, val: 3)]).error, .hypervisorFrame)
        XCTAssertTrue(m.m2p.entries.isEmpty)
        XCTAssertNil(m.update(1, [MMUUpdateRequest(ptr: UInt64(m.f(1, 0)) << 12 | 1, val: 3)]).error)
        XCTAssertEqual(m.m2p.entries, [m.f(1, 0): 3])
    }

    func testMMUUpdateBadPointerAndCommand() {
        let m = PagingMachine()
        XCTAssertEqual(m.update(1, [MMUUpdateRequest(ptr: UInt64(m.f(1, 0)) << 12 | 4, val: 0)]).error, .badPointer)
        let noTranslate = m.update(1, [MMUUpdateRequest(ptr: UInt64(m.f(1, 0)) << 12 | 3, val: 0)])
        XCTAssertEqual(noTranslate.error, .unknownCommand)
        XCTAssertEqual(noTranslate.error?.errno, 38)
        XCTAssertEqual(m.extError(1, .copyPage, m.f(1, 0)), .unknownCommand)
        XCTAssertEqual(m.frames.mmuextOp(MMUExtRequest(cmd: 99), state: &m.states[1]!, memory: &m.memory), .failure(.unknownCommand))
    }

    func testPlainWriteToUntypedFrameAndPreserveAD() {
        let m = PagingMachine()
        let data = m.f(1, 8)
        XCTAssertNil(m.set(1, data, 5, 0xDEAD_BEEF))
        XCTAssertEqual(m.memory.entry(data, 5), 0xDEAD_BEEF)
        XCTAssertTrue(m.counts(data) == (0, 0))
        let l1 = m.f(1, 6)
        m.memory.setEntry(l1, 0, PTE.make(data, PTE.p | PTE.a | PTE.d))
        XCTAssertNil(m.getType(l1, .l1))
        let preserve = m.update(1, [MMUUpdateRequest(ptr: UInt64(l1) << 12 | 2, val: PTE.make(data, PTE.p | PTE.rw))])
        XCTAssertNil(preserve.error)
        XCTAssertEqual(m.memory.entry(l1, 0), PTE.make(data, PTE.p | PTE.rw | PTE.a | PTE.d))
        XCTAssertTrue(m.counts(data) == (1, 1))
    }

    func testSwappingAnEntryForTheSameTargetIsSafe() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.newBase(1, s.l3))
        let before = m.snapshot()
        XCTAssertNil(m.set(1, s.l2, 0, PTE.make(s.l1, PTE.p | PTE.rw)))
        XCTAssertNil(m.set(1, s.l1, 0, PTE.make(m.f(1, 4), PTE.p | PTE.rw | PTE.d)))
        XCTAssertNil(m.set(1, s.l3, 0, PTE.make(s.l2, PTE.p)))
        XCTAssertEqual(m.snapshot(), before)
        // Dropping the only reference to the L1 devalidates it.
        XCTAssertNil(m.set(1, s.l2, 0, 0))
        XCTAssertEqual(m.record(s.l1).type, .none)
        XCTAssertTrue(m.counts(m.f(1, 4)) == (0, 0))
    }

    // MARK: update_va_mapping

    func testUpdateVAMapping() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertEqual(m.uvm(1, 0x2000, 0), .failure(.noBasePointer))
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertEqual(m.uvm(1, 0x2000, PTE.make(m.f(1, 8), PTE.p | PTE.rw), flags: UVMF.invlpg), .success(.page(0x2000, .local)))
        XCTAssertEqual(m.memory.entry(s.l1, 2), PTE.make(m.f(1, 8), PTE.p | PTE.rw))
        XCTAssertEqual(m.uvm(1, 0x3000, PTE.make(s.l1, PTE.p | PTE.rw)), .failure(.pageTableMappedWritable))
        XCTAssertEqual(m.uvm(1, 0x3000, PTE.make(m.sharedInfo[1]!, PTE.p | PTE.rw), flags: UVMF.tlbFlush | UVMF.all), .success(.everything(.all)))
        XCTAssertEqual(m.uvm(1, 0x4000_0000, 0), .failure(.noL2ForAddress))
        XCTAssertEqual(m.uvm(1, 0x0020_0000, 0), .failure(.noL1ForAddress))
        XCTAssertEqual(m.uvm(1, 0xC000_0000, 0), .failure(.noL1ForAddress))
        XCTAssertEqual(m.uvm(1, 0xF580_0000, 0), .failure(.hypervisorAddress))
        XCTAssertEqual(m.uvm(1, 0xFFFF_F000, 0), .failure(.hypervisorAddress))
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.tlbFlush | 0x1000, va: 0), .everything(.vcpuMask(0x1000)))
        XCTAssertEqual(FrameTable.decodeUVMF(3, va: 0), TLBFlush.none)
        // One page on this vCPU (the one-compare case) and its neighbours, each to its own flush.
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.invlpg, va: 0x1234_5000), .page(0x1234_5000, .local))
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.invlpg | UVMF.all, va: 0x1000), .page(0x1000, .all))
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.invlpg | 0x8000, va: 0x1000), .page(0x1000, .vcpuMask(0x8000)))
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.tlbFlush, va: 0x1000), .everything(.local))
        XCTAssertEqual(FrameTable.decodeUVMF(UVMF.none, va: 0x1000), TLBFlush.none)
    }

    // MARK: ptwr

    func testPageTableWriteEmulation() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.newBase(1, s.l3))
        let data = m.f(1, 8)
        XCTAssertNil(m.ptwr(1, s.l1, 16, 8, PTE.make(data, PTE.p | PTE.rw)))
        XCTAssertEqual(m.memory.entry(s.l1, 2), PTE.make(data, PTE.p | PTE.rw))
        // Low half only: combined with the high half already there.
        XCTAssertNil(m.ptwr(1, s.l1, 16, 4, UInt64(UInt32(truncatingIfNeeded: PTE.make(data, PTE.p)))))
        XCTAssertTrue(m.counts(data) == (1, 0))
        XCTAssertEqual(m.ptwr(1, s.l1, 16, 4, UInt64(UInt32(truncatingIfNeeded: PTE.make(s.l2, PTE.p | PTE.rw)))), .pageTableMappedWritable)
        // High half making the combined entry invalid: applied with present cleared.
        XCTAssertNil(m.ptwr(1, s.l1, 20, 4, 0x0010_0000))
        XCTAssertEqual(m.memory.entry(s.l1, 2), PTE.make(data, 0) | 1 << 52)
        XCTAssertTrue(m.counts(data) == (0, 0))
        // Refusals: width, alignment, not an L1, foreign.
        XCTAssertEqual(m.ptwr(1, s.l1, 18, 4, 0), .badWrite)
        XCTAssertEqual(m.ptwr(1, s.l1, 16, 2, 0), .badWrite)
        XCTAssertEqual(m.ptwr(1, s.l1, 4092, 8, 0), .badWrite)
        XCTAssertEqual(m.ptwr(1, s.l1, 4096, 8, 0), .badWrite)
        XCTAssertEqual(m.ptwr(1, s.l1, 0xFFFF_FFF8, 8, 0), .badWrite)
        XCTAssertEqual(m.ptwr(1, s.l2, 0, 8, 0), .notAPageTable)
        XCTAssertEqual(m.ptwr(1, data, 0, 8, 0), .notAPageTable)
        XCTAssertEqual(m.ptwr(2, s.l1, 0, 8, 0), .foreignFrame)
    }

    // MARK: SET_LDT and flushes

    func testSetLDTAndFlushes() {
        let m = PagingMachine()
        XCTAssertEqual(m.ext(1, .setLDT, 0x10000, 16), .success(.ldtChanged(base: 0x10000, entries: 16)))
        // Decided, not committed: the hypervisor commits only once the LDT's pages are typed.
        XCTAssertEqual(m.states[1]!.ldtEntries, 0)
        XCTAssertEqual(m.states[1]!.ldtBase, 0)
        XCTAssertEqual(m.extError(1, .setLDT, 0x10008, 16), .badLDT)
        XCTAssertEqual(m.extError(1, .setLDT, 0x10000, 8193), .badLDT)
        XCTAssertEqual(m.extError(1, .setLDT, 0xF57F_F000, 513), .badLDT)
        XCTAssertNil(m.extError(1, .setLDT, 0xF57F_F000, 512))
        XCTAssertEqual(m.ext(1, .setLDT, 0x1234, 0), .success(.ldtChanged(base: 0, entries: 0)))
        XCTAssertEqual(m.ext(1, .tlbFlushLocal), .success(.flush(.everything(.local))))
        XCTAssertEqual(m.ext(1, .invlpgAll, 0x5000), .success(.flush(.page(0x5000, .all))))
        XCTAssertEqual(m.ext(1, .invlpgMulti, 0x5000, 0x800), .success(.flush(.page(0x5000, .vcpuMask(0x800)))))
        XCTAssertEqual(m.ext(1, .tlbFlushAll), .success(.flush(.everything(.all))))
    }

    // MARK: Teardown

    func testTeardownAfterActivityLeavesEveryFrameFree() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertNil(m.pin(1, 1, m.f(1, 12)))
        XCTAssertNil(m.pin(1, 2, m.f(1, 13)))
        XCTAssertNil(m.set(1, m.f(1, 13), 9, PTE.make(s.l1, PTE.table)))
        XCTAssertNil(m.set(1, s.l1, 30, PTE.make(m.sharedInfo[1]!, PTE.p | PTE.rw)))
        XCTAssertNil(m.getDescriptor(1, m.f(1, 14)))
        XCTAssertNil(m.getDescriptor(1, m.f(1, 14)))
        let l3b = m.f(1, 15)
        m.memory.setEntry(l3b, 3, PTE.make(m.f(1, 16), PTE.table))
        XCTAssertNil(m.newBase(1, l3b))
        // Domain 2 is busy too and must be left alone.
        let t = m.buildSpace(2)
        XCTAssertNil(m.newBase(2, t.l3))
        let other = (m.owned[2]! + [m.sharedInfo[2]!]).map { m.record($0) }

        XCTAssertEqual(m.teardown(1), 0)
        m.assertDomainClean(1)
        XCTAssertTrue(m.counts(m.sharedInfo[1]!) == (0, 0))
        XCTAssertNil(m.states[1]!.baseL3)
        XCTAssertEqual(m.states[1]!.pinnedCount, 0)
        XCTAssertEqual((m.owned[2]! + [m.sharedInfo[2]!]).map { m.record($0) }, other)
        for frame in m.owned[1]! { XCTAssertEqual(m.frames.release(frame, from: .domain(1)), .released) }
    }

    func testGetPageOwnership() {
        let m = PagingMachine()
        XCTAssertNil(m.frames.getPage(m.f(1, 0), domain: 1))
        XCTAssertEqual(m.frames.getPage(m.f(1, 0), domain: 2), .foreignFrame)
        XCTAssertEqual(m.frames.getPage(m.hypervisorFrames[0], domain: 1), .hypervisorFrame)
        XCTAssertEqual(m.frames.getPage(9999, domain: 1), .frameBeyondMemory)
        XCTAssertTrue(m.counts(m.f(1, 0)) == (1, 0))
        m.frames.putPage(m.f(1, 0))
        m.assertDomainClean(1)
    }

    func testAdoptInitialBase() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        XCTAssertEqual(m.states[1]!.baseL3, s.l3)
        XCTAssertTrue(m.record(s.l3).flags.contains(.pinned))
        XCTAssertTrue(m.counts(s.l3) == (2, 2))
        // As Xen: the current base may be unpinned, its own references keep it validated.
        XCTAssertNil(m.unpin(1, s.l3))
        XCTAssertTrue(m.counts(s.l3) == (1, 1))
        XCTAssertTrue(m.record(s.l3).flags.contains(.validated))
        let other = m.f(1, 10)
        m.memory.setEntry(other, 3, PTE.make(m.f(1, 11), PTE.table))
        XCTAssertNil(m.newBase(1, other))
        XCTAssertEqual(m.record(s.l3).type, .none, "left and unpinned: devalidated")
        XCTAssertEqual(m.unpin(1, s.l3), .notPinned)
        let t = m.buildSpace(2)
        XCTAssertNil(m.frames.adoptInitialBase(t.l3, pin: false, state: &m.states[2]!, memory: &m.memory))
        XCTAssertEqual(m.unpin(2, t.l3), .notPinned)
        m.memory.setEntry(m.f(2, 10), 3, PTE.make(m.f(2, 11), PTE.table | PTE.ps))
        let before = m.snapshot()
        XCTAssertEqual(m.frames.adoptInitialBase(m.f(2, 10), state: &m.states[2]!, memory: &m.memory), .l3ReservedFlags)
        XCTAssertEqual(m.snapshot(), before)
    }

    /// Linux 5.4's switch to its own tables (xen_setup_kernel_pagetable): it copies the builder's
    /// slot-3 L2 (hypervisor entries included) and L3, unpins the builder's L3 while it is still
    /// CR3, pins its copy and makes it the base. The old slot-3 L2 is what the CPU's PDPT points
    /// at until the hypervisor reloads CR3, so its hypervisor entries (the mapcache among them)
    /// must still be there when NEW_BASEPTR returns; dropping them there triple-faulted the machine.
    func testLinuxSwitchKeepsTheLiveSlotThreeL2UntilTheCPULeavesIt() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        let hypervisor = m.slots.entries
        func slots(_ l2: UInt32) -> [UInt64] { (428..<512).map { m.memory.entry(l2, $0) } }
        XCTAssertEqual(slots(s.l2h), hypervisor)
        // Its copies: the new slot-3 L2 holds what the old one held (the hypervisor's entries too).
        let (newL3, newL2h) = (m.f(1, 10), m.f(1, 11))
        for i in 0..<512 { m.memory.setEntry(newL2h, i, m.memory.entry(s.l2h, i)) }
        m.memory.setEntry(newL3, 0, m.memory.entry(s.l3, 0))
        m.memory.setEntry(newL3, 3, PTE.make(newL2h, PTE.table))

        XCTAssertNil(m.unpin(1, s.l3), "UNPIN_TABLE of the current base")
        XCTAssertNil(m.pin(1, 3, newL3))
        XCTAssertEqual(m.rawExt(1, .newBaseptr, newL3), .success(.baseChanged(old: s.l3, new: newL3)))
        // The CPU has not moved yet: the old base and its slot-3 L2 are intact and referenced.
        XCTAssertEqual(m.states[1]!.retiringBase, s.l3)
        XCTAssertTrue(m.counts(s.l3) == (1, 1))
        XCTAssertTrue(m.record(s.l2h).flags.contains(.hypervisorSlots))
        XCTAssertEqual(slots(s.l2h), hypervisor, "the live slot-3 L2 keeps the hypervisor's entries")
        // The hypervisor reloads CR3, then lets the old base go.
        m.frames.releaseRetiringBase(state: &m.states[1]!, memory: &m.memory)
        XCTAssertNil(m.states[1]!.retiringBase)
        XCTAssertEqual(m.record(s.l3).type, .none)
        XCTAssertEqual(m.record(s.l2h).type, .none)
        XCTAssertEqual(slots(s.l2h), [UInt64](repeating: 0, count: 84), "a slot-3 L2 nobody uses keeps no hypervisor entries")
        XCTAssertEqual(slots(newL2h), hypervisor)
        XCTAssertTrue(m.counts(newL3) == (2, 2))
        XCTAssertTrue(m.counts(s.l2) == (1, 1), "the low L2, now under the new L3 only")
        XCTAssertNil(m.unpin(1, newL3))
        _ = m.frames.teardown(state: &m.states[1]!, memory: &m.memory)
        m.assertDomainClean(1)
    }

    /// A base still retiring is released by the next switch, and by teardown.
    func testARetiringBaseIsReleasedByTheNextSwitchOrByTeardown() {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, pin: false, state: &m.states[1]!, memory: &m.memory))
        let (b, c) = (m.f(1, 10), m.f(1, 12))
        m.memory.setEntry(b, 3, PTE.make(m.f(1, 11), PTE.table))
        m.memory.setEntry(c, 3, PTE.make(m.f(1, 13), PTE.table))
        XCTAssertEqual(m.rawExt(1, .newBaseptr, b), .success(.baseChanged(old: s.l3, new: b)))
        XCTAssertEqual(m.rawExt(1, .newBaseptr, c), .success(.baseChanged(old: b, new: c)))
        XCTAssertEqual(m.record(s.l3).type, .none, "the first retiring base went with the second switch")
        XCTAssertEqual(m.states[1]!.retiringBase, b)
        _ = m.frames.teardown(state: &m.states[1]!, memory: &m.memory)
        XCTAssertNil(m.states[1]!.retiringBase)
        m.assertDomainClean(1)
    }
}
