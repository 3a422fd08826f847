// Tests of scrubbing in the frame allocator: free frames are dirty until zeroed, the idle step moves
// them to the scrubbed list, and no frame handed to a domain is ever dirty (a random walk against a
// reference model of what each frame holds). They must never rely on allocation order.

import XCTest
@testable import ApusCore

private func withTable<R>(count: UInt32, _ body: (inout FrameTable) throws -> R) rethrows -> R {
    let storage = UnsafeMutablePointer<FrameRecord>.allocate(capacity: max(Int(count), 1))
    defer { storage.deallocate() }
    var table = FrameTable(storage: storage, count: count)
    return try body(&table)
}

final class FrameScrubTests: XCTestCase {
    func testBootMemoryIsDirtyAndZeroedOnDemand() {
        withTable(count: 16) { table in
            var memory = FrameContentMemory()
            for f: UInt32 in 0..<16 { memory.scribble(f, seed: UInt64(f) * 77) }
            table.addUsable(FrameRange(first: 0, count: 16))
            XCTAssertEqual(table.dirtyCount, 16, "nothing is known of what RAM holds at boot")
            let frame = table.allocate(for: .domain(1), memory: &memory)!
            XCTAssertEqual(memory.zeroedFrames, [frame])
            XCTAssertTrue(memory.isZero(frame))
            XCTAssertEqual(table.dirtyCount, 15)
            XCTAssertEqual(table.freeCount, 15)
        }
    }

    func testIdleStepScrubsAndAllocationTakesScrubbedFramesWithoutZeroingAgain() {
        withTable(count: 16) { table in
            var memory = FrameContentMemory()
            for f: UInt32 in 0..<16 { memory.scribble(f, seed: UInt64(f) * 31) }
            table.addUsable(FrameRange(first: 0, count: 16))
            for _ in 0..<4 { XCTAssertTrue(table.scrubOneFree(memory: &memory)) }
            let scrubbed = Set(memory.zeroedFrames)
            XCTAssertEqual(scrubbed.count, 4)
            XCTAssertEqual(table.dirtyCount, 12)
            XCTAssertEqual(table.freeCount, 16, "scrubbing keeps a frame free")
            for f in scrubbed {
                XCTAssertEqual(table.owner(of: f), .free)
                XCTAssertTrue(table.record(f).flags.contains(.scrubbed))
            }
            memory.zeroedFrames = []
            var taken: Set<UInt32> = []
            for _ in 0..<4 { taken.insert(table.allocate(for: .domain(2), memory: &memory)!) }
            XCTAssertEqual(taken, scrubbed, "the scrubbed frames go first")
            XCTAssertEqual(memory.zeroedFrames, [], "and are not zeroed twice")
            XCTAssertEqual(table.record(taken.first!).flags, [], "an allocated frame has no flags")
            // The next one is dirty: zeroed on the spot.
            let next = table.allocate(for: .domain(2), memory: &memory)!
            XCTAssertEqual(memory.zeroedFrames, [next])
        }
    }

    func testReleasedFramesAreDirtyAgain() {
        withTable(count: 8) { table in
            var memory = FrameContentMemory()
            table.addUsable(FrameRange(first: 0, count: 8))
            while table.scrubOneFree(memory: &memory) {}
            XCTAssertEqual(table.dirtyCount, 0)
            XCTAssertFalse(table.scrubOneFree(memory: &memory), "nothing left to scrub")
            let frame = table.allocate(for: .domain(1), memory: &memory)!
            memory.scribble(frame, seed: 0xDEAD)
            XCTAssertEqual(table.release(frame, from: .domain(1)), .released)
            XCTAssertEqual(table.dirtyCount, 1)
            XCTAssertFalse(table.record(frame).flags.contains(.scrubbed))
            // Seven scrubbed frames go first; the eighth is the dirty one, zeroed before it is handed out.
            for _ in 0..<8 {
                let f = table.allocate(for: .domain(2), memory: &memory)!
                XCTAssertTrue(memory.isZero(f))
            }
        }
    }

    func testHypervisorFramesTakeDirtyFramesFirstAndAreNotZeroed() {
        withTable(count: 8) { table in
            var memory = FrameContentMemory()
            table.addUsable(FrameRange(first: 0, count: 8))
            for _ in 0..<4 { _ = table.scrubOneFree(memory: &memory) }
            memory.zeroedFrames = []
            for _ in 0..<4 {
                let f = table.allocate(for: .hypervisor)!
                XCTAssertFalse(table.record(f).flags.contains(.scrubbed))
            }
            XCTAssertEqual(table.dirtyCount, 0, "the dirty ones went to the hypervisor")
            XCTAssertEqual(table.freeCount, 4)
            XCTAssertNotNil(table.allocate(for: .hypervisor), "then scrubbed ones")
            XCTAssertEqual(memory.zeroedFrames, [])
        }
    }

    func testAFrameThatCannotBeZeroedIsNeverHandedOut() {
        withTable(count: 4) { table in
            var memory = FrameContentMemory()
            table.addUsable(FrameRange(first: 0, count: 4))
            memory.unzeroable = [0, 1, 2, 3]
            XCTAssertNil(table.allocate(for: .domain(1), memory: &memory))
            XCTAssertFalse(table.scrubOneFree(memory: &memory))
            XCTAssertEqual(table.freeCount, 4)
            XCTAssertEqual(table.dirtyCount, 4)
            for f: UInt32 in 0..<4 { XCTAssertEqual(table.owner(of: f), .free) }
        }
    }

    func testRebuildKeepsEachFreeFrameOnItsList() {
        withTable(count: 64) { table in
            var memory = FrameContentMemory()
            table.addUsable(FrameRange(first: 0, count: 64))
            for _ in 0..<20 { _ = table.scrubOneFree(memory: &memory) }
            let scrubbed = Set(memory.zeroedFrames)
            // A reservation rebuilds both lists.
            table.reserve(FrameRange(first: 0, count: 8), as: .hypervisor)
            let reservedScrubbed = scrubbed.filter { $0 < 8 }.count
            XCTAssertEqual(table.freeCount, 56)
            XCTAssertEqual(table.dirtyCount, 56 - UInt32(20 - reservedScrubbed))
            memory.zeroedFrames = []
            var taken: [UInt32] = []
            for _ in 0..<(20 - reservedScrubbed) { taken.append(table.allocate(for: .domain(1), memory: &memory)!) }
            XCTAssertEqual(memory.zeroedFrames, [])
            XCTAssertTrue(taken.allSatisfy { scrubbed.contains($0) })
        }
    }

    func testBulkAllocationTakesScrubbedThenZeroesDirtyAndReportsShortfall() {
        withTable(count: 32) { table in
            var memory = FrameContentMemory()
            for f: UInt32 in 0..<32 { memory.scribble(f, seed: UInt64(f) &* 0x9E37) }
            table.addUsable(FrameRange(first: 0, count: 32))
            for _ in 0..<10 { _ = table.scrubOneFree(memory: &memory) }
            memory.zeroedFrames = []
            var frames: [UInt32] = []
            XCTAssertTrue(table.allocate(16, for: .domain(4), memory: &memory, into: &frames))
            XCTAssertEqual(frames.count, 16)
            XCTAssertEqual(Set(frames).count, 16)
            XCTAssertEqual(memory.zeroedFrames.count, 6, "ten were scrubbed already")
            XCTAssertTrue(frames.allSatisfy { memory.isZero($0) && table.owner(of: $0) == .domain(4) })
            var more: [UInt32] = []
            XCTAssertFalse(table.allocate(20, for: .domain(4), memory: &memory, into: &more))
            XCTAssertEqual(more.count, 16, "what could be taken is there for the caller to release")
            XCTAssertEqual(table.freeCount, 0)
            var none: [UInt32] = []
            XCTAssertFalse(table.allocate(1, for: .bootModule, memory: &memory, into: &none))
            XCTAssertEqual(none, [])
        }
    }

    /// A random walk of allocations (scrubbing and not), domains writing into their frames,
    /// releases, idle scrub steps and contiguous hypervisor runs, against a model of each frame's
    /// owner and contents: no frame handed to a domain is ever dirty, every frame the table marks
    /// scrubbed is zero, and the counts agree at every step.
    func testNoDomainEverGetsADirtyFrame() {
        let frameCount: UInt32 = 512
        withTable(count: frameCount) { table in
            var rng = SplitMix64(state: 0x5C2B_2026)
            var memory = FrameContentMemory()
            var owner = [FrameOwner](repeating: .notRAM, count: Int(frameCount))
            // Boot: RAM holds anything.
            for f in 0..<frameCount where rng.below(2) == 0 { memory.scribble(f, seed: rng.next()) }
            for range in [FrameRange(first: 2, count: 300), FrameRange(first: 320, count: 190)] {
                table.addUsable(range)
                for f in range.first..<range.end { owner[Int(f)] = .free }
            }
            let domains: [FrameOwner] = [.domain(0), .domain(1), .domain(9)]
            var handedOut = 0, scrubSteps = 0, onDemand = 0, hypervisorTaken = 0, exhausted = 0
            for step in 0..<20_000 {
                let roll = rng.below(100)
                if roll < 35 {
                    let who = domains[Int(rng.below(3))]
                    let zeroedBefore = memory.zeroedFrames.count
                    if let f = table.allocate(for: who, memory: &memory) {
                        XCTAssertEqual(owner[Int(f)], .free, "step \(step)")
                        XCTAssertTrue(memory.isZero(f), "step \(step): frame \(f) handed to \(who) dirty")
                        owner[Int(f)] = who
                        handedOut += 1
                        if memory.zeroedFrames.count > zeroedBefore { onDemand += 1 }
                    } else {
                        XCTAssertFalse(owner.contains(.free), "step \(step): nil while frames are free")
                        exhausted += 1
                    }
                } else if roll < 45 {
                    if let f = table.allocate(for: .hypervisor) {
                        XCTAssertEqual(owner[Int(f)], .free, "step \(step)")
                        owner[Int(f)] = .hypervisor
                        hypervisorTaken += 1
                    }
                } else if roll < 65 {
                    // A holder writes into one of its frames.
                    let f = rng.below(frameCount)
                    if case .domain = owner[Int(f)] { memory.scribble(f, seed: rng.next()) }
                    if owner[Int(f)] == .hypervisor { memory.scribble(f, seed: rng.next()) }
                } else if roll < 85 {
                    let f = rng.below(frameCount)
                    let holder = owner[Int(f)]
                    switch holder {
                    case .domain, .hypervisor:
                        XCTAssertEqual(table.release(f, from: holder), .released, "step \(step)")
                        owner[Int(f)] = .free
                    default:
                        XCTAssertNotEqual(table.release(f, from: .domain(1)), .released)
                    }
                } else if roll < 98 {
                    if table.scrubOneFree(memory: &memory) { scrubSteps += 1 }
                } else {
                    let n: UInt32 = 1 + rng.below(UInt32(4))
                    if let first = table.allocateContiguous(count: n, alignment: 1, for: .hypervisor) {
                        for f in first..<(first + n) {
                            XCTAssertEqual(owner[Int(f)], .free, "step \(step)")
                            owner[Int(f)] = .hypervisor
                        }
                    }
                }
                let free = owner.filter { $0 == .free }.count
                XCTAssertEqual(table.freeCount, UInt32(free), "step \(step)")
                if step % 500 == 0 {
                    var dirty: UInt32 = 0
                    for f in 0..<frameCount {
                        let record = table.record(f)
                        XCTAssertEqual(record.owner, owner[Int(f)], "step \(step): owner of \(f)")
                        if record.owner == .free {
                            if record.flags.contains(.scrubbed) {
                                XCTAssertTrue(memory.isZero(f), "step \(step): frame \(f) marked scrubbed holds data")
                            } else {
                                dirty += 1
                            }
                        }
                    }
                    XCTAssertEqual(table.dirtyCount, dirty, "step \(step)")
                }
            }
            // Every path was taken, so the checks above were not vacuous.
            XCTAssertGreaterThan(handedOut, 1000)
            XCTAssertGreaterThan(scrubSteps, 100)
            XCTAssertGreaterThan(onDemand, 100)
            XCTAssertGreaterThan(handedOut - onDemand, 100)
            XCTAssertGreaterThan(hypervisorTaken, 100)
            XCTAssertGreaterThan(exhausted, 10)
        }
    }
}
