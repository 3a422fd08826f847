// Tests of the frame table and allocator: no double hand-out, reserved frames untouchable, refusals,
// scrubbing (no frame handed to a domain is ever dirty), and seeded random walks against reference
// models. They must never rely on allocation order.

import XCTest
@testable import ApusCore

/// Runs `body` over a fresh table of `count` frames on heap storage freed afterwards.
private func withTable<R>(count: UInt32, _ body: (inout FrameTable) throws -> R) rethrows -> R {
    let storage = UnsafeMutablePointer<FrameRecord>.allocate(capacity: max(Int(count), 1))
    defer { storage.deallocate() }
    var table = FrameTable(storage: storage, count: count)
    return try body(&table)
}

/// Every frame allocate() hands out until it answers nil.
private func drain(_ table: inout FrameTable, for owner: FrameOwner) -> [UInt32] {
    var memory = FrameContentMemory()
    var frames: [UInt32] = []
    while let frame = table.allocate(for: owner, memory: &memory) { frames.append(frame) }
    return frames
}

/// `allocate(for:memory:)` over a throwaway memory, for tests about ownership, not contents.
private func take(_ table: inout FrameTable, for owner: FrameOwner) -> UInt32? {
    var memory = FrameContentMemory()
    return table.allocate(for: owner, memory: &memory)
}

final class FrameAllocatorTests: XCTestCase {
    func testNewTableIsAllNotRAM() {
        withTable(count: 64) { table in
            XCTAssertEqual(table.freeCount, 0)
            XCTAssertEqual(table.count(ownedBy: .notRAM), 64)
            XCTAssertNil(take(&table, for: .domain(0)))
            XCTAssertEqual(table.owner(of: 1000), .notRAM, "frames beyond the table are not RAM")
            XCTAssertEqual(table.record(1000), FrameRecord.notRAM)
        }
    }

    func testExhaustiveAllocationNeverRepeatsAndSkipsReserved() {
        withTable(count: 1024) { table in
            XCTAssertEqual(table.addUsable(FrameRange(first: 16, count: 984)), 984)
            XCTAssertEqual(table.reserve(FrameRange(first: 100, count: 20), as: .hypervisor), 20)
            XCTAssertEqual(table.reserve(FrameRange(first: 200, count: 100), as: .bootModule), 100)
            XCTAssertEqual(table.freeCount, 864)

            let frames = drain(&table, for: .domain(1))
            XCTAssertEqual(frames.count, 864)
            XCTAssertEqual(Set(frames).count, frames.count, "a frame was handed out twice")
            for frame in frames {
                XCTAssertTrue((16..<1000).contains(frame))
                XCTAssertFalse((100..<120).contains(frame))
                XCTAssertFalse((200..<300).contains(frame))
                XCTAssertEqual(table.owner(of: frame), .domain(1))
            }
            XCTAssertEqual(table.freeCount, 0)
            XCTAssertNil(table.allocate(for: .hypervisor), "exhaustion answers nil")
            XCTAssertEqual(table.count(ownedBy: .domain(1)), 864)
            XCTAssertEqual(table.count(ownedBy: .hypervisor), 20)
            XCTAssertEqual(table.count(ownedBy: .bootModule), 100)
            XCTAssertEqual(table.count(ownedBy: .notRAM), 40)
        }
    }

    func testFreshFramesHaveNoTypeOrReferences() {
        withTable(count: 8) { table in
            table.addUsable(FrameRange(first: 0, count: 8))
            let frame = take(&table, for: .domain(3))!
            let record = table.record(frame)
            XCTAssertEqual(record.owner, .domain(3))
            XCTAssertEqual(record.type, PageType.none)
            XCTAssertEqual(record.flags, [])
            XCTAssertEqual(record.typeCount, 0)
            XCTAssertEqual(record.refCount, 0)
        }
    }

    func testAddingUsableTwiceOrOverReservedChangesNothing() {
        withTable(count: 128) { table in
            table.reserve(FrameRange(first: 0, count: 32), as: .hypervisor)
            XCTAssertEqual(table.addUsable(FrameRange(first: 0, count: 64)), 32)
            XCTAssertEqual(table.addUsable(FrameRange(first: 0, count: 64)), 0)
            XCTAssertEqual(table.addUsable(FrameRange(first: 120, count: 100)), 8, "clipped at the table's end")
            XCTAssertEqual(table.freeCount, 40)
            let frames = drain(&table, for: .domain(0))
            XCTAssertEqual(Set(frames).count, 40)
            XCTAssertTrue(frames.allSatisfy { (32..<64).contains($0) || (120..<128).contains($0) })
        }
    }

    func testReserveRefusesFreeAndDomainOwnersAndSparesDomainFrames() {
        withTable(count: 16) { table in
            table.addUsable(FrameRange(first: 0, count: 16))
            XCTAssertNil(table.reserve(FrameRange(first: 0, count: 4), as: .free))
            XCTAssertNil(table.reserve(FrameRange(first: 0, count: 4), as: .domain(0)))
            let frame = take(&table, for: .domain(2))!
            XCTAssertEqual(table.reserve(FrameRange(first: 0, count: 16), as: .hypervisor), 15)
            XCTAssertEqual(table.owner(of: frame), .domain(2))
            XCTAssertEqual(table.freeCount, 0)
            XCTAssertNil(take(&table, for: .domain(2)))
        }
    }

    func testReleaseThenReallocate() {
        withTable(count: 32) { table in
            table.addUsable(FrameRange(first: 0, count: 32))
            let frames = drain(&table, for: .domain(5))
            XCTAssertEqual(table.release(frames[7], from: .domain(5)), .released)
            XCTAssertEqual(table.freeCount, 1)
            XCTAssertEqual(table.owner(of: frames[7]), .free)
            XCTAssertEqual(take(&table, for: .domain(6)), frames[7])
            XCTAssertEqual(table.owner(of: frames[7]), .domain(6))
            XCTAssertNil(take(&table, for: .domain(6)))
        }
    }

    func testReleaseRefusals() {
        withTable(count: 64) { table in
            table.addUsable(FrameRange(first: 8, count: 48))
            table.reserve(FrameRange(first: 8, count: 4), as: .hypervisor)
            table.reserve(FrameRange(first: 12, count: 4), as: .bootModule)
            let mine = take(&table, for: .domain(1))!
            let freeFrame = take(&table, for: .domain(1))!
            XCTAssertEqual(table.release(freeFrame, from: .domain(1)), .released)

            XCTAssertEqual(table.release(64, from: .domain(1)), .outOfRange)
            XCTAssertEqual(table.release(.max, from: .hypervisor), .outOfRange)
            XCTAssertEqual(table.release(mine, from: .domain(2)), .notOwned, "another domain's frame")
            XCTAssertEqual(table.release(mine, from: .hypervisor), .notOwned)
            XCTAssertEqual(table.release(freeFrame, from: .domain(1)), .notOwned, "double free")
            XCTAssertEqual(table.release(freeFrame, from: .free), .notOwned)
            XCTAssertEqual(table.release(0, from: .notRAM), .notOwned, "not-RAM frames are never released")
            XCTAssertEqual(table.release(0, from: .domain(1)), .notOwned)
            XCTAssertEqual(table.release(8, from: .domain(1)), .notOwned, "hypervisor frames stay the hypervisor's")
            XCTAssertEqual(table.release(12, from: .domain(1)), .notOwned, "module frames are not a domain's")
            XCTAssertEqual(table.release(12, from: .hypervisor), .notOwned)

            XCTAssertTrue(table.setRefCount(of: mine, to: 1))
            XCTAssertEqual(table.release(mine, from: .domain(1)), .stillReferenced)
            XCTAssertTrue(table.setRefCount(of: mine, to: 0))
            XCTAssertTrue(table.setType(of: mine, to: .l1, typeCount: 1))
            XCTAssertEqual(table.release(mine, from: .domain(1)), .stillReferenced)
            XCTAssertEqual(table.record(mine).type, .l1)
            XCTAssertTrue(table.setType(of: mine, to: .none, typeCount: 0))
            XCTAssertEqual(table.release(mine, from: .domain(1)), .released)

            // The owners themselves may give their frames back.
            XCTAssertEqual(table.release(8, from: .hypervisor), .released)
            XCTAssertEqual(table.release(12, from: .bootModule), .released)
            XCTAssertEqual(table.owner(of: 12), .free)
        }
    }

    func testRefusedReleaseChangesNothing() {
        withTable(count: 16) { table in
            table.addUsable(FrameRange(first: 0, count: 16))
            let frame = take(&table, for: .domain(1))!
            table.setRefCount(of: frame, to: 2)
            table.setFlags(of: frame, to: [.pinned, .validated])
            let before = table.record(frame)
            let free = table.freeCount
            _ = table.release(frame, from: .domain(1))
            _ = table.release(frame, from: .domain(9))
            XCTAssertEqual(table.record(frame), before)
            XCTAssertEqual(table.freeCount, free)
        }
    }

    func testSettersOnlyTouchHeldFrames() {
        withTable(count: 16) { table in
            table.addUsable(FrameRange(first: 0, count: 8))
            table.reserve(FrameRange(first: 0, count: 1), as: .bootModule)
            XCTAssertFalse(table.setType(of: 1, to: .writable, typeCount: 1), "free frame")
            XCTAssertFalse(table.setRefCount(of: 0, to: 1), "boot module frame")
            XCTAssertFalse(table.setFlags(of: 12, to: .pinned), "not-RAM frame")
            XCTAssertFalse(table.setRefCount(of: 99, to: 1), "beyond the table")
            XCTAssertEqual(table.record(1).type, PageType.none)
        }
    }

    func testOnlyTheHypervisorAndRealDomainsGetFrames() {
        withTable(count: 8) { table in
            table.addUsable(FrameRange(first: 0, count: 8))
            XCTAssertNil(take(&table, for: .free))
            XCTAssertNil(take(&table, for: .notRAM))
            XCTAssertNil(take(&table, for: .bootModule))
            XCTAssertNil(take(&table, for: .domain(0x7FF0)))
            XCTAssertNil(table.allocateContiguous(count: 1, alignment: 1, for: .notRAM))
            XCTAssertNil(table.allocateContiguous(count: 1, alignment: 1, for: .domain(1)), "unscrubbed runs are the hypervisor's alone")
            XCTAssertNil(table.allocate(for: .domain(1)), "a domain's frame always comes through the scrubbing path")
            XCTAssertEqual(table.freeCount, 8)
            XCTAssertNotNil(take(&table, for: .domain(FrameOwner.maxDomainID)))
            XCTAssertNotNil(take(&table, for: .hypervisor))
        }
    }

    func testContiguousWithAlignment() {
        withTable(count: 4096) { table in
            table.addUsable(FrameRange(first: 1, count: 4095))
            table.reserve(FrameRange(first: 515, count: 1), as: .hypervisor)
            let before = table.freeCount
            // Frame 0 is not RAM and 515 is taken, so the first free aligned run of 512 starts at 1024.
            let first = table.allocateContiguous(count: 512, alignment: 512, for: .hypervisor)
            XCTAssertEqual(first, 1024)
            XCTAssertEqual(table.freeCount, before - 512)
            for frame in UInt32(1024)..<1536 { XCTAssertEqual(table.owner(of: frame), .hypervisor) }

            // Unaligned requests take the first run that fits.
            XCTAssertEqual(table.allocateContiguous(count: 3, alignment: 1, for: .hypervisor), 1)
            XCTAssertEqual(table.allocateContiguous(count: 4, alignment: 4, for: .hypervisor), 4)

            XCTAssertNil(table.allocateContiguous(count: 0, alignment: 1, for: .hypervisor))
            XCTAssertNil(table.allocateContiguous(count: 4, alignment: 3, for: .hypervisor))
            XCTAssertNil(table.allocateContiguous(count: 4, alignment: 0, for: .hypervisor))
            XCTAssertNil(table.allocateContiguous(count: 3000, alignment: 1, for: .hypervisor), "no run that long is free")
            XCTAssertNil(table.allocateContiguous(count: 5000, alignment: 1, for: .hypervisor))

            // What remains is handed out exactly once, and never the contiguous runs.
            let rest = drain(&table, for: .domain(1))
            XCTAssertEqual(Set(rest).count, rest.count)
            XCTAssertEqual(UInt32(rest.count), before - 512 - 7)
            XCTAssertTrue(rest.allSatisfy { !(1024..<1536).contains($0) && !(1..<8).contains($0) && $0 != 515 })
        }
    }

    func testContiguousRunAtTheVeryEnd() {
        withTable(count: 64) { table in
            table.addUsable(FrameRange(first: 48, count: 16))
            XCTAssertEqual(table.allocateContiguous(count: 16, alignment: 16, for: .hypervisor), 48)
            XCTAssertEqual(table.freeCount, 0)
            XCTAssertNil(table.allocateContiguous(count: 1, alignment: 1, for: .hypervisor))
        }
    }

    /// A random walk of allocations, releases (right and wrong owners, with and without
    /// references) and contiguous allocations, checked step by step against a model that
    /// is only a set of free frames and a map of owners.
    func testRandomWalkAgainstReferenceModel() {
        let frameCount: UInt32 = 2048
        withTable(count: frameCount) { table in
            var rng = SplitMix64(state: 0xA905_2024)
            var modelOwner = [FrameOwner](repeating: .notRAM, count: Int(frameCount))
            var modelFree = Set<UInt32>()

            for range in [FrameRange(first: 1, count: 700), FrameRange(first: 800, count: 1200)] {
                table.addUsable(range)
                for frame in range.first..<range.end { modelOwner[Int(frame)] = .free; modelFree.insert(frame) }
            }
            let reservations: [(FrameRange, FrameOwner)] = [
                (FrameRange(first: 256, count: 64), .hypervisor),
                (FrameRange(first: 1500, count: 100), .bootModule),
                (FrameRange(first: 2040, count: 8), .notRAM),
            ]
            for (range, owner) in reservations {
                table.reserve(range, as: owner)
                for frame in range.first..<range.end { modelOwner[Int(frame)] = owner; modelFree.remove(frame) }
            }
            var reservedFrames = Set<UInt32>()
            for (range, _) in reservations { reservedFrames.formUnion(range.first..<range.end) }
            var referenced = Set<UInt32>()
            // Never the reserved frames' owners, so a release naming them must be refused.
            let strangers: [FrameOwner] = [.domain(0), .domain(1), .domain(7)]
            let owners: [FrameOwner] = [.hypervisor, .domain(0), .domain(1), .domain(7)]

            var outcomes: [FrameReleaseResult: Int] = [:]
            var exhausted = 0
            var contiguousTaken = 0
            for step in 0..<20_000 {
                let roll = rng.below(100)
                if roll < 45 {
                    let owner = owners[Int(rng.below(UInt32(owners.count)))]
                    let frame = take(&table, for: owner)
                    if let frame {
                        XCTAssertTrue(modelFree.contains(frame), "step \(step): frame \(frame) handed out while not free")
                        modelFree.remove(frame)
                        modelOwner[Int(frame)] = owner
                    } else {
                        XCTAssertTrue(modelFree.isEmpty, "step \(step): nil while frames are free")
                        exhausted += 1
                    }
                } else if roll < 90 {
                    let frame = rng.below(frameCount + 16)
                    // Mostly the true owner, sometimes another one.
                    let trueOwner = frame < frameCount ? modelOwner[Int(frame)] : .notRAM
                    let owner: FrameOwner
                    if reservedFrames.contains(frame) {
                        owner = strangers[Int(rng.below(UInt32(strangers.count)))]
                    } else {
                        owner = rng.below(4) == 0 ? owners[Int(rng.below(UInt32(owners.count)))] : trueOwner
                    }
                    let expected: FrameReleaseResult
                    switch (frame < frameCount, owner) {
                    case (false, _): expected = .outOfRange
                    case (true, .free), (true, .notRAM): expected = .notOwned
                    case (true, _) where owner != trueOwner: expected = .notOwned
                    case (true, _) where referenced.contains(frame): expected = .stillReferenced
                    default: expected = .released
                    }
                    XCTAssertEqual(table.release(frame, from: owner), expected, "step \(step): release \(frame)")
                    outcomes[expected, default: 0] += 1
                    if expected == .released {
                        modelOwner[Int(frame)] = .free
                        modelFree.insert(frame)
                    }
                } else if roll < 96 {
                    // Take or drop a reference on a frame some domain holds.
                    let frame = rng.below(frameCount)
                    if case .domain = modelOwner[Int(frame)] {
                        if referenced.contains(frame) {
                            XCTAssertTrue(table.setRefCount(of: frame, to: 0))
                            referenced.remove(frame)
                        } else {
                            XCTAssertTrue(table.setRefCount(of: frame, to: 1))
                            referenced.insert(frame)
                        }
                    }
                } else {
                    let count = 1 + rng.below(UInt32(8))
                    let alignment = UInt32(1) << rng.below(4)
                    let owner = owners[Int(rng.below(UInt32(owners.count)))]
                    // Contiguous runs are the hypervisor's alone (their contents are not scrubbed).
                    let expectedPossible = owner == .hypervisor && modelHasRun(modelFree, count: count, alignment: alignment, frames: frameCount)
                    if let first = table.allocateContiguous(count: count, alignment: alignment, for: owner) {
                        XCTAssertEqual(first % alignment, 0)
                        contiguousTaken += 1
                        for frame in first..<(first + count) {
                            XCTAssertTrue(modelFree.contains(frame), "step \(step): contiguous frame \(frame) was not free")
                            modelFree.remove(frame)
                            modelOwner[Int(frame)] = owner
                        }
                    } else {
                        XCTAssertFalse(expectedPossible, "step \(step): contiguous nil although a run is free")
                    }
                }
                XCTAssertEqual(table.freeCount, UInt32(modelFree.count), "step \(step)")
                if step % 1000 == 0 {
                    for frame in 0..<frameCount {
                        XCTAssertEqual(table.owner(of: frame), modelOwner[Int(frame)], "step \(step): owner of \(frame)")
                    }
                }
            }
            // The walk reached every outcome, so the checks above were not vacuous.
            for result in [FrameReleaseResult.released, .notOwned, .outOfRange, .stillReferenced] {
                XCTAssertGreaterThan(outcomes[result, default: 0], 10, "\(result)")
            }
            XCTAssertGreaterThan(exhausted, 10)
            XCTAssertGreaterThan(contiguousTaken, 10)
            // Reserved frames never moved.
            for (range, owner) in reservations {
                for frame in range.first..<range.end { XCTAssertEqual(table.owner(of: frame), owner) }
            }
        }
    }

    private func modelHasRun(_ free: Set<UInt32>, count: UInt32, alignment: UInt32, frames: UInt32) -> Bool {
        var first: UInt32 = 0
        while first + count <= frames {
            if (first..<(first + count)).allSatisfy({ free.contains($0) }) { return true }
            first += alignment
        }
        return false
    }
}
