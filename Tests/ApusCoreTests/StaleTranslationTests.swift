// Tests of the lazy TLB rule (StaleTranslations.swift) and of the same-references fast path of an entry update.
// Each refusal or flush must be observable: a flush counted by the fake memory, a count that did or did not move.

import XCTest
import PVABI
@testable import ApusCore

final class StaleTranslationTests: XCTestCase {
    /// Domain 1 running on buildSpace's tables (adopted as its base).
    private func running() -> (PagingMachine, (l3: UInt32, l2: UInt32, l2h: UInt32, l1: UInt32)) {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.frames.adoptInitialBase(s.l3, state: &m.states[1]!, memory: &m.memory))
        m.frames.translationsFlushed()   // the CPU loads CR3 on the new base
        m.memory.flushes = 0
        return (m, s)
    }

    func testChangingEntriesFlushesNothing() {
        let (m, s) = running()
        // Unmap the writable page at 0x0, remap it read-only, map another: no flush, as on Xen.
        XCTAssertEqual(m.uvm(1, 0, 0), .success(.none))
        XCTAssertNil(m.set(1, s.l1, 1, PTE.make(m.f(1, 6), PTE.p | PTE.rw)))
        XCTAssertNil(m.set(1, s.l1, 0, PTE.make(m.f(1, 4), PTE.p)))
        XCTAssertEqual(m.memory.flushes, 0)
        XCTAssertEqual(m.frames.staleTranslations, [.writableMapping])
    }

    func testDroppedWritableMappingIsFlushedBeforeTheFrameBecomesATable() {
        let (m, s) = running()
        let page = m.f(1, 4)                       // mapped writable at 0x0
        XCTAssertEqual(m.uvm(1, 0, 0), .success(.none))
        XCTAssertEqual(m.record(page).typeCount, 0)
        // The guest may still write `page` through its TLB: it must not become an L1 unflushed.
        XCTAssertNil(m.pin(1, 1, page))
        XCTAssertEqual(m.memory.flushes, 1)
        XCTAssertEqual(m.frames.staleTranslations, [])
        // Nothing stale any more: the next table costs no flush.
        XCTAssertNil(m.pin(1, 1, m.f(1, 7)))
        XCTAssertEqual(m.memory.flushes, 1)
        _ = s
    }

    func testDroppedWritableMappingIsFlushedBeforeTheFrameBecomesADescriptorFrame() {
        let (m, _) = running()
        XCTAssertEqual(m.uvm(1, 0, 0), .success(.none))
        XCTAssertNil(m.getDescriptor(1, m.f(1, 4)))
        XCTAssertEqual(m.memory.flushes, 1)
    }

    func testDroppedReadOnlyMappingNeedsNoFlush() {
        let (m, _) = running()
        let page = m.f(1, 5)                       // mapped read-only at 0x1000
        XCTAssertEqual(m.uvm(1, 0x1000, 0), .success(.none))
        XCTAssertEqual(m.frames.staleTranslations, [])
        XCTAssertNil(m.pin(1, 1, page))
        XCTAssertEqual(m.memory.flushes, 0, "a stale read-only view of a table gives the guest nothing")
    }

    func testDroppedTableLinkIsFlushedBeforeTheFormerTableIsMappedWritable() {
        let (m, s) = running()
        let spare = m.f(1, 6)                       // a second, empty L1 at 0x200000
        XCTAssertNil(m.set(1, s.l2, 1, PTE.make(spare, PTE.table)))
        XCTAssertEqual(m.memory.flushes, 0, "nothing was stale when it became a table")
        // Unlink the first L1: the CPU may still walk it through a cached L2 entry.
        XCTAssertNil(m.set(1, s.l2, 0, 0))
        XCTAssertEqual(m.record(s.l1).type, .none)
        XCTAssertTrue(m.frames.staleTranslations.contains(.tableLink))
        XCTAssertEqual(m.memory.flushes, 0)
        // Mapping the old L1 writable would let the guest write what the CPU may still use: flush first.
        XCTAssertNil(m.uvm(1, 0x20_0000, PTE.make(s.l1, PTE.p | PTE.rw)).failure)
        XCTAssertEqual(m.record(s.l1).type, .writable)
        XCTAssertEqual(m.memory.flushes, 1)
        XCTAssertEqual(m.frames.staleTranslations, [])
    }

    func testAWritableMappingOfAFreshDataPageNeedsNoFlush() {
        let (m, s) = running()
        XCTAssertEqual(m.uvm(1, 0, 0), .success(.none))      // a stale writable mapping only
        XCTAssertNil(m.set(1, s.l1, 2, PTE.make(m.f(1, 8), PTE.p | PTE.rw)))
        XCTAssertEqual(m.record(m.f(1, 8)).type, .writable)
        XCTAssertEqual(m.memory.flushes, 0)
    }

    func testAFlushByTheHypervisorClearsTheNotes() {
        let (m, _) = running()
        XCTAssertEqual(m.uvm(1, 0, 0), .success(.none))
        m.frames.translationsFlushed()
        XCTAssertNil(m.pin(1, 1, m.f(1, 4)))
        XCTAssertEqual(m.memory.flushes, 0)
    }

    // MARK: The same-references fast path

    func testRewritingTheSameMappingTakesNoReference() {
        let (m, s) = running()
        let page = m.f(1, 4)
        let before = m.counts(page)
        let pte = PTE.make(page, PTE.p | PTE.rw | PTE.a)
        XCTAssertEqual(m.uvm(1, 0, pte | PTE.d), .success(.none))   // A/D differ: still the same references
        XCTAssertTrue(m.counts(page) == before)
        XCTAssertEqual(m.memory.entry(s.l1, 0), pte | PTE.d)
        XCTAssertEqual(m.frames.staleTranslations, [], "the mapping was kept, not dropped")
    }

    func testTheFastPathStillChecksTheNewBits() {
        let (m, s) = running()
        let page = m.f(1, 4)
        let before = m.snapshot()
        XCTAssertEqual(m.uvm(1, 0, PTE.make(page, PTE.p | PTE.rw | PTE.g)).failure, .l1CacheOrGlobalBits)
        XCTAssertEqual(m.uvm(1, 0, PTE.make(page, PTE.p | PTE.rw) | 1 << 55).failure, .reservedBits)
        XCTAssertEqual(m.set(1, s.l2, 0, PTE.make(s.l1, PTE.table | PTE.ps)), .superpage)
        XCTAssertEqual(m.snapshot(), before)
    }

    func testChangingRWOrTheFrameTakesTheSlowPath() {
        let (m, _) = running()
        let page = m.f(1, 4)
        XCTAssertEqual(m.uvm(1, 0, PTE.make(page, PTE.p | PTE.a)), .success(.none))
        XCTAssertTrue(m.counts(page) == (1, 0), "read-only now: the writable type reference went")
        XCTAssertEqual(m.record(page).type, .none)
    }

    func testTheRefusalConstantsMatchTheFlags() {
        XCTAssertEqual(EntryRules.l1Refused, PTEFlags.pat.rawValue | PTEFlags.global.rawValue)
        XCTAssertEqual(EntryRules.l3Refused, PTEFlags.pageSize.rawValue | PTEFlags.global.rawValue | PTEFlags.noExecute.rawValue)
    }
}
