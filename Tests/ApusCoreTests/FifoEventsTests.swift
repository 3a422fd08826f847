// FifoEventsTests.swift: the FIFO ABI's set_pending/unmask/clear rules (FifoEvents) over array-backed event
// words and control blocks: heads, links, READY bits, old tails, missing pages and control blocks.

import XCTest
import PVABI
@testable import ApusCore

/// Event words and control blocks in arrays, as the guest's frames would hold them.
struct FifoFixture: FifoEventWords {
    var words: [UInt32]
    /// Words below this port have an array page.
    var wordsPresent: UInt32
    var blocks: [[UInt32]?]

    init(ports: UInt32 = 64, wordsPresent: UInt32 = 64, vcpus: Int = 2, blocks: Int = 2) {
        words = Array(repeating: 0, count: Int(ports))
        self.wordsPresent = wordsPresent
        self.blocks = (0..<vcpus).map { $0 < blocks ? Array(repeating: 0, count: EvtchnFifoControlBlockLayout.size / 4) : nil }
    }

    func hasWord(_ port: UInt32) -> Bool { port < wordsPresent }
    func hasControlBlock(vcpu: UInt32) -> Bool { Int(vcpu) < blocks.count && blocks[Int(vcpu)] != nil }
    func word(_ port: UInt32) -> UInt32 { words[Int(port)] }
    mutating func setWord(_ port: UInt32, _ value: UInt32) { words[Int(port)] = value }
    func control(vcpu: UInt32, at offset: Int) -> UInt32 { blocks[Int(vcpu)]![offset / 4] }
    mutating func setControl(vcpu: UInt32, at offset: Int, _ value: UInt32) { blocks[Int(vcpu)]![offset / 4] = value }

    func ready(_ vcpu: UInt32) -> UInt32 { control(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.readyOffset) }
    func head(_ vcpu: UInt32, _ priority: UInt32) -> UInt32 { control(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.head(priority)) }

    static let P: UInt32 = 1 << 31, M: UInt32 = 1 << 30, L: UInt32 = 1 << 29, B: UInt32 = 1 << 28

    /// What a guest does to consume the head of `vcpu`'s queue `priority` (as Linux's consume_one_event, with
    /// its own copy of the head in `localHead`): clear LINKED and the link, clear READY when that was the
    /// last, and handle (clear PENDING) a pending unmasked event. Returns the port, whether it was handled.
    mutating func consume(vcpu: UInt32, priority: UInt32, localHead: inout UInt32) -> (port: UInt32, handled: Bool) {
        let port = localHead != 0 ? localHead : head(vcpu, priority)
        let w = words[Int(port)]
        let next = w & EvtchnFifo.linkMask
        words[Int(port)] = w & ~(Self.L | EvtchnFifo.linkMask)
        if next == 0 { setControl(vcpu: vcpu, at: EvtchnFifoControlBlockLayout.readyOffset, ready(vcpu) & ~(1 << priority)) }
        localHead = next
        let handled = w & Self.P != 0 && w & Self.M == 0
        if handled { words[Int(port)] &= ~Self.P }
        return (port, handled)
    }
}

final class FifoEventsTests: XCTestCase {
    typealias F = FifoFixture

    func testTheFirstEventBecomesTheHeadAndRaisesTheQueuesReadyBit() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 5, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(w.words[5], F.P | F.L)
        XCTAssertEqual(w.head(0, 7), 5)
        XCTAssertEqual(w.ready(0), 1 << 7)
        XCTAssertEqual(q.tail(vcpu: 0, priority: 7), 5)
        XCTAssertEqual(w.ready(1), 0, "another VCPU's block is untouched")
    }

    func testALaterEventIsLinkedBehindTheTailWithoutAnotherUpcall() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        _ = FifoEvents.setPending(&w, &q, port: 5, vcpu: 0)
        w.words[5] |= F.B
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 9, vcpu: 0), .queued)
        XCTAssertEqual(w.words[5], F.P | F.L | 9, "the tail links to the new event; BUSY is cleared as Xen does")
        XCTAssertEqual(w.words[9], F.P | F.L)
        XCTAssertEqual(w.head(0, 7), 5, "the head stays")
        XCTAssertEqual(q.tail(vcpu: 0, priority: 7), 9)
    }

    func testAPendingLinkedOrMaskedEventIsNotLinkedAgain() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        _ = FifoEvents.setPending(&w, &q, port: 5, vcpu: 0)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 5, vcpu: 0), .queued)
        XCTAssertEqual(w.words[5], F.P | F.L, "no self-link")
        w.words[6] = F.M
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 6, vcpu: 0), .queued)
        XCTAssertEqual(w.words[6], F.M | F.P, "masked: pending only")
        XCTAssertEqual(q.tail(vcpu: 0, priority: 7), 5)
        // Unmask clears MASKED and links the pending event behind the tail.
        XCTAssertEqual(FifoEvents.unmask(&w, &q, port: 6, vcpu: 0), .queued)
        XCTAssertEqual(w.words[6], F.P | F.L)
        XCTAssertEqual(w.words[5] & EvtchnFifo.linkMask, 6)
        // Unmask of a port that is not pending only clears MASKED.
        w.words[7] = F.M
        XCTAssertEqual(FifoEvents.unmask(&w, &q, port: 7, vcpu: 0), .queued)
        XCTAssertEqual(w.words[7], 0)
    }

    func testPrioritiesHaveQueuesAndReadyBitsOfTheirOwn() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        XCTAssertTrue(q.setPriority(3, 0))
        XCTAssertFalse(q.setPriority(3, 16), "priorities run 0...15")
        XCTAssertFalse(q.setPriority(64, 1), "beyond the ports")
        XCTAssertEqual(q.priority(3), 0)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 4, vcpu: 1), .raiseUpcall)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 3, vcpu: 1), .raiseUpcall, "a new head of another queue: another READY bit")
        XCTAssertEqual(w.ready(1), 1 << 7 | 1 << 0)
        XCTAssertEqual([w.head(1, 0), w.head(1, 7)], [3, 4])
        XCTAssertEqual(w.words[4] & EvtchnFifo.linkMask, 0, "queues do not link into each other")
    }

    func testAConsumedTailIsLinkedAsTheNewHeadNotToItself() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        var local: UInt32 = 0
        _ = FifoEvents.setPending(&w, &q, port: 5, vcpu: 0)
        XCTAssertEqual(w.consume(vcpu: 0, priority: 7, localHead: &local).port, 5)
        XCTAssertEqual(w.ready(0), 0)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 5, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(w.words[5], F.P | F.L)
        XCTAssertEqual(w.head(0, 7), 5)
    }

    func testAnOldTailMovedToAnotherQueueDoesNotCarryItsOldQueueWithIt() {
        var w = F(), q = FifoQueues(vcpus: 2, portLimit: 64)
        var local: UInt32 = 0
        _ = FifoEvents.setPending(&w, &q, port: 5, vcpu: 0)
        _ = w.consume(vcpu: 0, priority: 7, localHead: &local)
        q.setPriority(5, 2)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 5, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(q.tail(vcpu: 0, priority: 7), 0, "the old queue forgot its tail")
        // Port 9 on the old queue must become its head, not a link after 5 (now on queue 2).
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 9, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(w.words[5] & EvtchnFifo.linkMask, 0)
        XCTAssertEqual([w.head(0, 2), w.head(0, 7)], [5, 9])
    }

    func testAnEventWithoutItsWordIsHeldUntilThePageArrives() {
        var w = F(ports: 64, wordsPresent: 32), q = FifoQueues(vcpus: 2, portLimit: 64)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 40, vcpu: 1), .noWord)
        XCTAssertTrue(q.isHeld(40))
        XCTAssertEqual(w.words[40], 0, "nothing written")
        var raised: [UInt32] = []
        FifoEvents.pageAdded(&w, &q, ports: 32..<64, vcpuOf: { _ in 1 }, raised: { raised.append($0) })
        XCTAssertEqual(raised, [], "still no word: still held")
        XCTAssertTrue(q.isHeld(40))
        w.wordsPresent = 64
        FifoEvents.pageAdded(&w, &q, ports: 32..<64, vcpuOf: { _ in 1 }, raised: { raised.append($0) })
        XCTAssertEqual(raised, [1])
        XCTAssertFalse(q.isHeld(40))
        XCTAssertEqual(w.words[40], F.P | F.L)
        XCTAssertEqual(w.head(1, 7), 40)
        // A held event of a port closed meanwhile is dropped.
        w.wordsPresent = 32
        _ = FifoEvents.setPending(&w, &q, port: 41, vcpu: 0)
        w.wordsPresent = 64
        FifoEvents.pageAdded(&w, &q, ports: 32..<64, vcpuOf: { _ in nil }, raised: { raised.append($0) })
        XCTAssertEqual(raised, [1])
        XCTAssertEqual(w.words[41], 0)
        XCTAssertFalse(q.isHeld(41))
    }

    func testAVCPUWithoutAControlBlockGetsPendingButNoLink() {
        var w = F(blocks: 1), q = FifoQueues(vcpus: 2, portLimit: 64)
        XCTAssertEqual(FifoEvents.setPending(&w, &q, port: 5, vcpu: 1), .noControlBlock)
        XCTAssertEqual(w.words[5], F.P)
        XCTAssertEqual(q.tail(vcpu: 1, priority: 7), 0)
    }

    func testClearPendingAndTheDebugBits() {
        var w = F(ports: 64, wordsPresent: 32), q = FifoQueues(vcpus: 2, portLimit: 64)
        _ = FifoEvents.setPending(&w, &q, port: 5, vcpu: 0)
        _ = FifoEvents.setPending(&w, &q, port: 6, vcpu: 0)
        FifoEvents.clearPending(&w, port: 5)
        XCTAssertEqual(w.words[5], F.L | 6, "the link stays: the guest skips a word that is not pending")
        XCTAssertEqual(FifoEvents.bits(w, port: 5)?.link, 6)
        XCTAssertNil(FifoEvents.bits(w, port: 40))
        XCTAssertTrue(FifoEvents.isMasked(w, port: 40), "a port without a word reads masked, as in Xen")
        XCTAssertFalse(FifoEvents.isMasked(w, port: 5))
        FifoEvents.clearPending(&w, port: 40)
        q.resetPort(6)
        XCTAssertEqual(q.tail(vcpu: 0, priority: 7), 0)
        XCTAssertEqual(q.priority(6), EvtchnFifo.priorityDefault)
    }
}
