// GrantRefPoolTests.swift: a domU's grant references: the reserved ones never handed out, none handed
// out twice, refusals of references never taken or already given back, and the pool's end.

import XCTest
@testable import GuestKit

final class GrantRefPoolTests: XCTestCase {
    func testHandsOutEachOnce() {
        var pool = GrantRefPool(limit: 512)
        var seen = Set<UInt32>()
        while let r = pool.take() {
            XCTAssertGreaterThanOrEqual(r, 8)
            XCTAssertLessThan(r, 512)
            XCTAssertTrue(seen.insert(r).inserted)
        }
        XCTAssertEqual(seen.count, 504)
        XCTAssertEqual(pool.inUse, 504)
        XCTAssertTrue(pool.give(100))
        XCTAssertFalse(pool.give(100))
        XCTAssertEqual(pool.take(), 100)
        XCTAssertNil(pool.take())
    }

    func testRefusals() {
        var pool = GrantRefPool(limit: 512)
        XCTAssertFalse(pool.give(1))       // reserved (xenstore)
        XCTAssertFalse(pool.give(8))       // never handed out
        XCTAssertEqual(pool.take(), 8)
        XCTAssertFalse(pool.give(9))
        XCTAssertFalse(pool.give(600))
        XCTAssertTrue(pool.give(8))
        XCTAssertEqual(pool.inUse, 0)
    }
}
