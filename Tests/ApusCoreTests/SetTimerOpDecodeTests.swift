// SetTimerOpDecodeTests.swift: set_timer_op's decoder: the deadline joined low word first, and the
// fuzz harness (it never refuses and never touches guest memory).

import XCTest
import PVABI
@testable import ApusCore

final class SetTimerOpDecodeTests: XCTestCase {
    func testDeadlineIsJoinedLowWordFirst() {
        var m = FakeGuestMemory(seed: 15)
        XCTAssertEqual(accepted(SetTimerOpRequest.decode(HypercallArguments(0x89AB_CDEF, 0x0123_4567, 0, 0, 0), &m)), .setTimer(deadline: 0x0123_4567_89AB_CDEF))
        XCTAssertEqual(accepted(SetTimerOpRequest.decode(HypercallArguments(0, 0, 0xFFFF_FFFF, 0, 0), &m)), .setTimer(deadline: 0))
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 15) { a, m in
            let copies = m.copiesIn
            switch SetTimerOpRequest.decode(a, &m) {
            case .success(.setTimer(let deadline)):
                XCTAssertEqual(deadline, HypercallArguments.joined(a.a1, a.a2))
                XCTAssertEqual(m.copiesIn, copies)
                return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        XCTAssertEqual(tally.refused.count, 0)
    }
}
