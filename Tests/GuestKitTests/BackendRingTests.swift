// BackendRingTests.swift: the backend's ring indexes against a reference model over 32-bit wraps, the
// garbage-producer check, and Xen's notify rule (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY) against its
// definition; the blkif ring is 32 entries of 108 bytes.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class BackendRingTests: XCTestCase {
    func testBlkifRingGeometry() {
        XCTAssertEqual(SharedRingLayout.entries(entryBytes: BlkifLayout.entryBytes), 32)
        XCTAssertEqual(BlkifLayout.segmentsOffset + BlkifLayout.maxSegments * BlkifLayout.segmentBytes, BlkifLayout.requestBytes)
        XCTAssertNil(BackendRing(size: 24))
        XCTAssertNil(BackendRing(size: 0))
    }

    /// A frontend producing and a backend consuming and answering, from indexes near 2^32, against
    /// plain counters.
    func testAgainstModelAcrossTheWrap() {
        var rng = SplitMix64(seed: 77)
        for start: UInt32 in [0, 0xFFFF_FFF0, 0x8000_0000 - 5] {
            var ring = BackendRing(size: 32, startingAt: start)!
            var produced = ring.requestConsumer, taken = ring.requestConsumer, answered = ring.responseProducer
            for _ in 0..<5000 {
                switch rng.next() % 3 {
                case 0:
                    let room = 32 &- (produced &- answered)
                    produced &+= UInt32(rng.next() % UInt64(room + 1))
                case 1:
                    guard case .success(let n) = ring.pending(producer: produced) else { return XCTFail("in range") }
                    XCTAssertEqual(n, produced &- taken)
                    for _ in 0..<n { XCTAssertEqual(ring.takeRequest(), taken & 31); taken &+= 1 }
                default:
                    if let slot = ring.nextResponseSlot() { XCTAssertEqual(slot, answered & 31); answered &+= 1 }
                    else { XCTAssertEqual(answered, taken) }
                }
                // A producer past a ring of unanswered requests is garbage, wherever the indexes are.
                XCTAssertEqual(ring.pending(producer: answered &+ 33), .failure(.producerOutOfRange(producer: answered &+ 33, consumer: taken)))
                XCTAssertEqual(ring.pending(producer: answered &- 1), .failure(.producerOutOfRange(producer: answered &- 1, consumer: taken)))
            }
        }
    }

    func testNotifyRule() {
        // Xen: notify iff the frontend's rsp_event lies in (old, new].
        for old: UInt32 in [0, 10, 0xFFFF_FFFE] {
            for k: UInt32 in 0...4 {
                let new = old &+ k
                for e in [old, old &+ 1, old &+ 2, new, new &+ 1, old &- 1] {
                    let inRange = (e &- old) >= 1 && (e &- old) <= k
                    XCTAssertEqual(BackendRing.notifyNeeded(published: old, now: new, responseEvent: e), inRange, "old \(old) new \(new) event \(e)")
                }
            }
        }
    }
}

