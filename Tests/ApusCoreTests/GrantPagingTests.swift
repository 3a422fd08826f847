// Tests of grant PTEs in the paging core: written only into a non-present L1 entry, never overwritten or put by paging,
// removed only while they still map the granted frame; and of the references a grant holds on the granted frame.

import XCTest
import PVABI
@testable import ApusCore

final class GrantPagingTests: XCTestCase {
    /// Domain 1 with a based address space; domain 2's frame 6 granted to it.
    func setUp(_ m: PagingMachine) -> (l1: UInt32, granted: UInt32) {
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertNil(m.newBase(1, s.l3))
        return (s.l1, m.f(2, 6))
    }

    func testMapWritesOnlyAnEmptySlotAndPagingLeavesItAlone() {
        let m = PagingMachine()
        let (l1, granted) = setUp(m)
        XCTAssertTrue(m.frames.getGrantReference(granted, owner: 2, writable: true))
        XCTAssertEqual(m.counts(granted).ref, 1)
        // 0x0 is mapped already: a grant never replaces an entry.
        XCTAssertEqual(m.frames.installGrantPTE(va: 0, frame: granted, writable: true, user: false, state: m.states[1]!, memory: &m.memory), .grantSlotInUse)
        XCTAssertNil(m.frames.installGrantPTE(va: 0x5000, frame: granted, writable: true, user: false, state: m.states[1]!, memory: &m.memory))
        XCTAssertEqual(m.memory.entry(l1, 5), FrameTable.grantPTE(frame: granted, writable: true, user: false))
        // The guest may neither overwrite nor clear it by itself.
        XCTAssertEqual(m.set(1, l1, 5, 0), .grantMappingEntry)
        if case .failure(let e) = m.uvm(1, 0x5000, PTE.make(m.f(1, 7), PTE.p)) { XCTAssertEqual(e, .grantMappingEntry) } else { XCTFail("uvm replaced a grant PTE") }
        // Unmap checks the frame, then clears; the grant reference goes with the grant.
        XCTAssertEqual(m.frames.removeGrantPTE(va: 0x5000, frame: m.f(2, 7), state: m.states[1]!, memory: &m.memory), .grantEntryMismatch)
        XCTAssertNil(m.frames.removeGrantPTE(va: 0x5000, frame: granted, state: m.states[1]!, memory: &m.memory))
        XCTAssertEqual(m.memory.entry(l1, 5), 0)
        XCTAssertTrue(m.frames.putGrantReference(granted, writable: true))
        XCTAssertEqual(m.counts(granted).ref, 0)
        XCTAssertEqual(m.record(granted).type, .none)
    }

    func testTeardownOfTheMapperLeavesTheGrantsReferences() {
        let m = PagingMachine()
        let (_, granted) = setUp(m)
        XCTAssertTrue(m.frames.getGrantReference(granted, owner: 2, writable: false))
        XCTAssertNil(m.frames.installGrantPTE(va: 0x6000, frame: granted, writable: false, user: true, state: m.states[1]!, memory: &m.memory))
        m.teardown(1)
        m.assertDomainClean(1)
        XCTAssertEqual(m.counts(granted).ref, 1, "the grant still holds its reference")
        XCTAssertTrue(m.frames.putGrantReference(granted, writable: false))
        m.assertDomainClean(2)
    }

    func testWritableGrantReferenceExcludesPageTables() {
        let m = PagingMachine()
        let table = m.f(2, 3)
        XCTAssertNil(m.getType(table, .l1, 2))
        XCTAssertFalse(m.frames.getGrantReference(table, owner: 2, writable: true))
        XCTAssertEqual(m.counts(table).ref, 0)
        XCTAssertTrue(m.frames.getGrantReference(table, owner: 2, writable: false))
        XCTAssertFalse(m.frames.getGrantReference(m.f(2, 4), owner: 1, writable: false), "owner must match")
        let data = m.f(2, 9)
        XCTAssertTrue(m.frames.getGrantReference(data, owner: 2, writable: true))
        XCTAssertEqual(m.getType(data, .l1, 2), .frameMappedWritable)
        XCTAssertTrue(m.frames.putGrantReference(data, writable: true))
        XCTAssertNil(m.getType(data, .l1, 2))
    }

    func testGrantTableFramesAreMappableExtrasNeverTables() {
        var extras = MappableExtras()
        for f in 0..<UInt32(MappableExtras.capacity) { XCTAssertTrue(extras.add(100 + f)) }
        XCTAssertFalse(extras.add(999))
        extras.remove(105)
        XCTAssertFalse(extras.contains(105))
        XCTAssertTrue(extras.contains(139))
        XCTAssertTrue(extras.add(999))
    }
}
