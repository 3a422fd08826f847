// FifoCarryAcrossTests.swift: the switch from the 2-level ABI (FifoQueues.carryAcross: a port pending there is
// held and linked once its array page arrives, masked or not as the guest laid the page out), and FifoEvents
// over a guest that writes anything at all into its event words and control block: every call returns,
// writes only the words of the port it was given and the hypervisor-known tail, and the hypervisor's own
// queue state stays within its ports.

import XCTest
import PVABI
@testable import ApusCore

final class FifoCarryAcrossTests: XCTestCase {
    typealias F = FifoFixture

    func testAPortPendingOnTheTwoLevelABIIsLinkedWhenItsPageArrives() {
        var w = F(ports: 64, wordsPresent: 0), q = FifoQueues(vcpus: 1, portLimit: 64)
        q.carryAcross(pending: 3)
        q.carryAcross(pending: 0)
        q.carryAcross(pending: 64)
        XCTAssertTrue(q.isHeld(3))
        XCTAssertFalse(q.isHeld(0), "port 0 is never bound")
        XCTAssertFalse(q.isHeld(64), "beyond the queues")
        // The guest lays its page out masked (as Linux does); the held event is pending but not linked.
        w.wordsPresent = 64
        for i in w.words.indices { w.words[i] = F.M }
        var raised: [UInt32] = []
        FifoEvents.pageAdded(&w, &q, ports: 0..<64, vcpuOf: { _ in 0 }, raised: { raised.append($0) })
        XCTAssertEqual(raised, [])
        XCTAssertEqual(w.words[3], F.M | F.P)
        XCTAssertFalse(q.isHeld(3))
        // Its unmask (the guest clears MASKED, sees PENDING and asks) links it and raises the upcall.
        w.words[3] &= ~F.M
        XCTAssertEqual(FifoEvents.unmask(&w, &q, port: 3, vcpu: 0), .raiseUpcall)
        XCTAssertEqual(w.head(0, 7), 3)
        XCTAssertEqual(w.words[3], F.P | F.L)
    }

    func testAGuestScribblingOverItsWordsAndControlBlockOnlyHurtsItself() {
        let ports: UInt32 = 40
        for seed in UInt64(1)...60 {
            var rng = SplitMix64(seed: seed)
            var w = F(ports: ports, wordsPresent: ports, vcpus: 2, blocks: 2)
            var q = FifoQueues(vcpus: 2, portLimit: ports)
            for _ in 0..<400 {
                let r = rng.next()
                let port = UInt32(r % UInt64(ports - 1)) + 1
                let vcpu = UInt32(r >> 8 & 1)
                switch r >> 16 % 6 {
                case 0:
                    // Anything at all in a word, links far beyond the ports included.
                    w.words[Int(UInt32(truncatingIfNeeded: r >> 24) % ports)] = UInt32(truncatingIfNeeded: rng.next())
                case 1:
                    let offset = Int(r >> 24 % 18) * 4
                    w.setControl(vcpu: vcpu, at: offset, UInt32(truncatingIfNeeded: rng.next()))
                case 2:
                    _ = q.setPriority(port, UInt32(r >> 24 % 20))
                case 3:
                    _ = FifoEvents.unmask(&w, &q, port: port, vcpu: vcpu)
                default:
                    let before = w.words
                    _ = FifoEvents.setPending(&w, &q, port: port, vcpu: vcpu)
                    // Only the port's own word and at most one other (the queue's tail, which the
                    // hypervisor chose: never a link the guest wrote) changed.
                    var changed = 0
                    for i in before.indices where before[i] != w.words[i] && UInt32(i) != port { changed += 1 }
                    XCTAssertLessThanOrEqual(changed, 1, "seed \(seed)")
                }
                for v in UInt32(0)..<2 {
                    for p in UInt32(0)..<16 { XCTAssertLessThan(q.tail(vcpu: v, priority: p), ports, "seed \(seed)") }
                }
            }
        }
    }
}
