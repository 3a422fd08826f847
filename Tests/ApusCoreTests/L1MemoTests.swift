// Tests of update_va_mapping's memo of its last walk (L1Memo.swift): it is used (one table lent, not three), and it
// follows every change of which L1 a region reaches. It must never compare the memo with itself: the reference is l1Slot's walk.

import XCTest
import PVABI
@testable import ApusCore

final class L1MemoTests: XCTestCase {
    /// Domain 1 on base f0 (buildSpace: slot 0 -> L2 f1, f1[0] -> L1 f3), with a spare empty frame f6.
    /// The L1 f3 is pinned: it stays a validated L1 of the domain wherever the tables move, so a stale
    /// memo would pass the L1 check and write the wrong table.
    private func based() -> (PagingMachine, (l3: UInt32, l2: UInt32, l2h: UInt32, l1: UInt32)) {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 1, s.l1))
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertNil(m.newBase(1, s.l3))
        return (m, s)
    }

    /// update_va_mapping of `va` must write entry `index` of `l1` (and nothing refused).
    private func assertWrites(_ m: PagingMachine, _ va: UInt32, into l1: UInt32, _ what: String, line: UInt = #line) {
        let value = PTE.make(m.f(1, 4), PTE.p | PTE.a | PTE.d)
        guard case .success(let slot) = m.frames.l1Slot(for: va, state: m.states[1]!, memory: m.memory) else {
            return XCTFail("\(what): the reference walk found no L1", line: line)
        }
        XCTAssertEqual(slot.frame, l1, "\(what): the reference walk", line: line)
        guard case .success = m.uvm(1, va, value) else { return XCTFail("\(what): refused", line: line) }
        XCTAssertEqual(m.memory.entry(l1, Int(va >> 12) & 511), value, "\(what): the entry of the L1 the tables reach", line: line)
    }

    func testASecondCallInTheRegionLendsOnlyTheL1() {
        let (m, s) = based()
        assertWrites(m, 0x2000, into: s.l1, "first call")
        // The same entry again: written in place, so the only table lent is the L1 (three with the walk).
        let lent = m.memory.lent
        assertWrites(m, 0x2000, into: s.l1, "second call")
        XCTAssertEqual(m.memory.lent - lent, 1, "the memo did not spare the L3 and L2")
    }

    func testAnL2EntryRewrittenMovesTheRegion() {
        let (m, s) = based()
        assertWrites(m, 0x2000, into: s.l1, "before")
        XCTAssertNil(m.set(1, s.l2, 0, PTE.make(m.f(1, 6), PTE.table)))
        assertWrites(m, 0x3000, into: m.f(1, 6), "after the L2 entry moved")
        XCTAssertNil(m.set(1, s.l2, 0, PTE.make(s.l1, PTE.table)))
        assertWrites(m, 0x4000, into: s.l1, "after it moved back")
    }

    func testAnL3EntryRewrittenMovesTheRegion() {
        let (m, s) = based()
        // f7: another L2 whose entry 0 is the spare L1 f6.
        m.memory.setEntry(m.f(1, 7), 0, PTE.make(m.f(1, 6), PTE.table))
        assertWrites(m, 0x2000, into: s.l1, "before")
        XCTAssertNil(m.set(1, s.l3, 0, PTE.make(m.f(1, 7), PTE.table)))
        assertWrites(m, 0x3000, into: m.f(1, 6), "after the L3 entry moved")
    }

    func testAnEntryRemovedIsRefusedAsTheWalkRefuses() {
        let (m, s) = based()
        assertWrites(m, 0x2000, into: s.l1, "before")
        XCTAssertNil(m.set(1, s.l2, 0, 0))
        guard case .failure(let e) = m.uvm(1, 0x2000, PTE.make(m.f(1, 4), PTE.p)) else { return XCTFail("no L1 any more") }
        XCTAssertEqual(e, .noL1ForAddress)
    }

    func testANewBaseClearsTheMemo() {
        let (m, s) = based()
        assertWrites(m, 0x2000, into: s.l1, "on the first base")
        // A second address space: L3 f8 -> L2 f7 (entry 0: L1 f6), slot 3 -> its own slot-3 L2 f9.
        m.memory.setEntry(m.f(1, 7), 0, PTE.make(m.f(1, 6), PTE.table))
        m.memory.setEntry(m.f(1, 8), 0, PTE.make(m.f(1, 7), PTE.table))
        m.memory.setEntry(m.f(1, 8), 3, PTE.make(m.f(1, 9), PTE.table))
        // Pinned, and the memo taken after: the switches below change no type and write no entry.
        XCTAssertNil(m.pin(1, 3, m.f(1, 8)))
        assertWrites(m, 0x2000, into: s.l1, "on the first base, the second pinned")
        XCTAssertNil(m.newBase(1, m.f(1, 8)))
        assertWrites(m, 0x3000, into: m.f(1, 6), "on the second base")
        XCTAssertNil(m.newBase(1, s.l3))
        assertWrites(m, 0x4000, into: s.l1, "back on the first")
    }

    /// A table that lost its type is the guest's to write; taking the type again must count as a change
    /// even though no entry was written through the hypervisor.
    func testATableRevalidatedWithOtherEntriesMovesTheRegion() {
        let (m, s) = based()
        // Base on f8 whose slot 0 is f1 (the same L2), so f0 can go while f1 stays reachable.
        m.memory.setEntry(m.f(1, 8), 0, PTE.make(s.l2, PTE.table))
        m.memory.setEntry(m.f(1, 8), 3, PTE.make(m.f(1, 9), PTE.table))
        XCTAssertNil(m.newBase(1, m.f(1, 8)))
        assertWrites(m, 0x2000, into: s.l1, "through f8")
        // f1 loses its type: f0 unpinned (its last reference), then f8's slot 0 emptied.
        XCTAssertNil(m.unpin(1, s.l3))
        XCTAssertNil(m.set(1, m.f(1, 8), 0, 0))
        XCTAssertEqual(m.record(s.l2).typeCount, 0)
        // The guest writes f1 as plain memory, then it becomes an L2 again through f8's slot 0.
        m.memory.setEntry(s.l2, 0, PTE.make(m.f(1, 6), PTE.table))
        XCTAssertNil(m.set(1, m.f(1, 8), 0, PTE.make(s.l2, PTE.table)))
        assertWrites(m, 0x3000, into: m.f(1, 6), "after f1 was revalidated")
    }
}
