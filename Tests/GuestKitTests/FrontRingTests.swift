// FrontRingTests.swift: the frontend's ring indexes against plain counters across the 2^32 wrap, a
// full ring refusing another request, a backend response producer past the requests made (garbage),
// and Xen's notify rule (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY) against its definition.

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class FrontRingTests: XCTestCase {
    func testGeometry() {
        XCTAssertNil(FrontRing(size: 0))
        XCTAssertNil(FrontRing(size: 24))
        XCTAssertNil(FrontRing(size: 8192))
        XCTAssertEqual(SharedRingLayout.entries(entryBytes: NetifTxLayout.entryBytes), 256)
        XCTAssertEqual(SharedRingLayout.entries(entryBytes: NetifRxLayout.entryBytes), 256)
    }

    func testFullRingRefusesAnotherRequest() {
        var ring = FrontRing(size: 32)!
        for i: UInt32 in 0..<32 { XCTAssertEqual(ring.nextRequestSlot(), i) }
        XCTAssertEqual(ring.freeSlots, 0)
        XCTAssertNil(ring.nextRequestSlot())
        XCTAssertEqual(ring.responses(producer: 1), .success(1))
        XCTAssertEqual(ring.takeResponse(), 0)
        XCTAssertEqual(ring.nextRequestSlot(), 0)
        XCTAssertNil(ring.nextRequestSlot())
    }

    /// Requests made, a backend answering some, responses taken, from indexes near 2^32, against counters.
    func testAgainstModelAcrossTheWrap() {
        var rng = SplitMix64(seed: 1414)
        for start: UInt32 in [0, 0xFFFF_FFF0, 0x8000_0000 - 3] {
            var ring = FrontRing(size: 32, startingAt: start)!
            var made = start, answered = start, taken = start
            for _ in 0..<5000 {
                switch rng.next() % 3 {
                case 0:
                    let n = rng.next() % 40
                    for _ in 0..<n {
                        if let slot = ring.nextRequestSlot() { XCTAssertEqual(slot, made & 31); made &+= 1 }
                        else { XCTAssertEqual(made &- taken, 32) }
                    }
                case 1:
                    answered &+= UInt32(rng.next() % UInt64((made &- answered) + 1))
                default:
                    guard case .success(let n) = ring.responses(producer: answered) else { return XCTFail("in range") }
                    XCTAssertEqual(n, answered &- taken)
                    for _ in 0..<n { XCTAssertEqual(ring.takeResponse(), taken & 31); taken &+= 1 }
                }
                XCTAssertEqual(ring.outstanding, made &- taken)
                XCTAssertEqual(ring.freeSlots, 32 - (made &- taken))
                // Responses to requests never made are garbage, wherever the indexes are.
                XCTAssertEqual(ring.responses(producer: made &+ 1), .failure(.responseProducerOutOfRange(producer: made &+ 1, consumer: taken)))
                XCTAssertEqual(ring.responses(producer: taken &- 1), .failure(.responseProducerOutOfRange(producer: taken &- 1, consumer: taken)))
            }
        }
    }

    /// The rule is `(new - event) < (new - old)`: notify exactly when old < event <= new, modulo 2^32.
    func testNotifyRuleAgainstDefinition() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20000 {
            let old = UInt32(truncatingIfNeeded: rng.next())
            let pushed = UInt32(rng.next() % 40)
            let new = old &+ pushed
            let event = old &+ UInt32(rng.next() % 80) &- 20
            var inRange = false
            var i = old
            while i != new { i &+= 1; if i == event { inRange = true } }
            XCTAssertEqual(FrontRing.notifyNeeded(published: old, now: new, requestEvent: event), inRange)
        }
        var ring = FrontRing(size: 256)!
        XCTAssertEqual(ring.responseEvent, 1)
        _ = ring.nextRequestSlot()
        _ = ring.takeResponse()
        XCTAssertEqual(ring.responseEvent, 2)
    }
}
