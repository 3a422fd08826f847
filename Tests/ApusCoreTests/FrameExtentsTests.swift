// Tests of FrameExtents (a domain's P2M as runs) and ActiveGrants (a grant table's live uses, sparse):
// each against the plain array it replaces, over seeded random contents.

import XCTest
@testable import ApusCore

final class FrameExtentsTests: XCTestCase {
    func testRunsMatchThePlainList() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            var frames: [UInt32] = []
            var next = UInt32(rng.below(1 << 20))
            for _ in 0..<rng.below(3000) {
                switch rng.below(10) {
                case 0: next = UInt32(rng.below(1 << 20))          // a jump
                case 1: next = next &- 2                           // turning down
                default: break
                }
                frames.append(next)
                next = rng.chance(50) ? next &+ 1 : next &- 1
            }
            let extents = FrameExtents(frames)
            XCTAssertEqual(extents.count, frames.count)
            XCTAssertEqual(Array(extents), frames)
            for _ in 0..<20 where !frames.isEmpty {
                let pfn = rng.below(frames.count)
                XCTAssertEqual(extents[pfn], frames[pfn])
            }
        }
    }

    func testAllocatorOrderIsOneRun() {
        let up = FrameExtents(Array(UInt32(0x400)..<UInt32(0x800)))
        XCTAssertEqual(up.runCount, 1)
        let down = FrameExtents(Array((UInt32(0x400)..<UInt32(0x800)).reversed()))
        XCTAssertEqual(down.runCount, 1)
        XCTAssertEqual(down[0], 0x7FF)
        XCTAssertEqual(down[1023], 0x400)
        let edges = FrameExtents([1, 0, UInt32.max - 1, UInt32.max])
        XCTAssertEqual(Array(edges), [1, 0, UInt32.max - 1, UInt32.max])
        let empty: FrameExtents = []
        XCTAssertEqual(Array(empty), [])
        XCTAssertEqual(empty.count, 0)
    }

    func testActiveGrantsMatchADenseTable() {
        var rng = SplitMix64(seed: 3)
        var sparse = ActiveGrants()
        sparse.grow(by: 1024)
        var dense = [ActiveGrant](repeating: .idle, count: 1024)
        for _ in 0..<20_000 {
            let ref = rng.below(1024)
            let use: ActiveGrant = rng.chance(40) ? .idle
                : .mapped(mapper: UInt16(rng.below(4)), frame: UInt32(rng.below(100)), maps: UInt32(rng.below(3) + 1), writableMaps: 0)
            sparse[ref] = use
            dense[ref] = use
            let probe = rng.below(1024)
            XCTAssertEqual(sparse[probe], dense[probe])
        }
        for ref in 0..<1024 { XCTAssertEqual(sparse[ref], dense[ref]) }
        XCTAssertEqual(sparse.inUse, dense.filter { $0 != .idle }.count)
        XCTAssertEqual(sparse.refs, sparse.refs.sorted())
        XCTAssertEqual(sparse.count, 1024)
    }
}

final class FrameExtentsInitTests: XCTestCase {
    /// Building from an array finds exactly the runs appending frame by frame does, on random
    /// mixtures of ascending, descending and scattered frames (the allocator hands out all three).
    func testInitFromArrayMatchesAppending() {
        var rng = SplitMix64(state: 0xE7E7_2026)
        for round in 0..<300 {
            var frames: [UInt32] = []
            var next = rng.below(UInt32(64))
            for _ in 0..<rng.below(UInt32(60)) {
                switch rng.below(UInt32(5)) {
                case 0: next = rng.below(UInt32(64))
                case 1: next = next > 0 ? next - 1 : 0
                case 2: next = UInt32.max - rng.below(UInt32(2))
                default: next = next &+ 1
                }
                frames.append(next)
            }
            var appended = FrameExtents()
            for f in frames { appended.append(f) }
            let built = FrameExtents(frames)
            XCTAssertEqual(built, appended, "round \(round): \(frames)")
            XCTAssertEqual(Array(built), frames, "round \(round)")
        }
    }
}
