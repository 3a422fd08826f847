// CivilDateTests.swift: calendar arithmetic against known instants and a round trip.

import XCTest
@testable import ApusCore

final class CivilDateTests: XCTestCase {
    func testKnownInstants() {
        XCTAssertEqual(CivilDate(year: 1970, month: 1, day: 1).secondsSinceEpoch, 0)
        XCTAssertEqual(CivilDate(year: 2000, month: 3, day: 1).secondsSinceEpoch, 951_868_800)
        XCTAssertEqual(CivilDate(year: 2026, month: 11, day: 21, hour: 23, minute: 40, second: 15).secondsSinceEpoch, 1795304415)
        XCTAssertEqual(CivilDate(year: 2038, month: 1, day: 19, hour: 3, minute: 14, second: 8).secondsSinceEpoch, 2_147_483_648)
    }

    func testRefusesImpossibleDates() {
        XCTAssertNil(CivilDate(year: 2023, month: 2, day: 29).secondsSinceEpoch)
        XCTAssertNotNil(CivilDate(year: 2024, month: 2, day: 29).secondsSinceEpoch)
        XCTAssertNil(CivilDate(year: 1969, month: 12, day: 31).secondsSinceEpoch)
        XCTAssertNil(CivilDate(year: 2024, month: 13, day: 1).secondsSinceEpoch)
        XCTAssertNil(CivilDate(year: 2024, month: 1, day: 1, hour: 24).secondsSinceEpoch)
    }

    func testRoundTripOverCenturies() {
        var s: UInt64 = 0
        while s < 8_000_000_000 {
            let date = CivilDate(secondsSinceEpoch: s)
            XCTAssertEqual(date.secondsSinceEpoch, s)
            s += 86_400 * 37 + 3_611
        }
    }

    func testBCD() {
        XCTAssertEqual(CivilDate.fromBCD(0x59), 59)
        XCTAssertEqual(CivilDate.fromBCD(0x07), 7)
    }

    func testClockFieldsAreZeroPadded() {
        func text(_ l: LogLine) -> String { l.withBytes { String(decoding: $0, as: UTF8.self) } }
        let d = CivilDate(year: 2026, month: 1, day: 2, hour: 3, minute: 0, second: 4)
        let l: LogLine = "\(UInt32(d.year), pad: 4)-\(UInt32(d.month), pad: 2)-\(UInt32(d.day), pad: 2) \(UInt32(d.hour), pad: 2):\(UInt32(d.minute), pad: 2):\(UInt32(d.second), pad: 2)"
        XCTAssertEqual(text(l), "2026-01-02 03:00:04")
        XCTAssertEqual(text("\(UInt32(123), pad: 2)"), "123")
        XCTAssertEqual(text("\(UInt32.max, pad: 12)"), "004294967295")
        XCTAssertEqual(text("\(UInt32(0), pad: 0)"), "0")
    }
}
