// Tests that tearing a domain down over its own frames (what the hypervisor does, O(its frames)) leaves
// the frame table exactly as the whole-table walk does. They must never share a machine between the two.

import XCTest
@testable import ApusCore

final class TeardownExtentsTests: XCTestCase {
    /// Pins, a base pointer, a descriptor frame and a second domain's frames, in two identical machines.
    private func prepared() -> PagingMachine {
        let m = PagingMachine()
        let s = m.buildSpace(1)
        XCTAssertNil(m.pin(1, 3, s.l3))
        XCTAssertNil(m.newBase(1, s.l3))
        XCTAssertNil(m.getDescriptor(1, m.f(1, 7)))
        m.buildSpace(2)
        XCTAssertNil(m.pin(2, 3, m.f(2, 0)))
        return m
    }

    func testOwnFramesWalkMatchesTheWholeTableWalk() {
        let byExtents = prepared()
        let whole = prepared()
        XCTAssertEqual(byExtents.snapshot(), whole.snapshot())
        let left = byExtents.frames.teardown(state: &byExtents.states[1]!, frames: byExtents.owned[1]!, memory: &byExtents.memory)
        let reference = whole.frames.teardown(state: &whole.states[1]!, memory: &whole.memory)
        XCTAssertEqual(left, reference)
        XCTAssertEqual(left, 0)
        XCTAssertEqual(byExtents.snapshot(), whole.snapshot())
        XCTAssertEqual(byExtents.states[1]!.pinnedCount, 0)
        byExtents.assertDomainClean(1)
        // The other domain kept its pin.
        XCTAssertTrue(byExtents.record(byExtents.f(2, 0)).flags.contains(.pinned))
    }

    func testFramesOfAnotherOwnerAreLeftAlone() {
        let m = prepared()
        let before = m.snapshot()
        // Domain 1's teardown handed domain 2's frames: nothing of domain 2 moves.
        var state = DomainMemoryState(id: 1)
        _ = m.frames.teardown(state: &state, frames: m.owned[2]!, memory: &m.memory)
        XCTAssertEqual(m.snapshot(), before)
    }
}
