// Tests of the "(dN) " relay label dom0's console backend puts before a domain's ring line.

import ApusCore
import XCTest

final class ConsoleRelayLabelTests: XCTestCase {
    func label(_ s: String) -> (UInt16, Int)? {
        ConsoleRelayLabel.parse(Array(s.utf8)).map { ($0.domain, $0.length) }
    }

    func testLabels() {
        XCTAssertTrue(label("(d2) kernel.c: dummy main")! == (2, 5))
        XCTAssertTrue(label("(d32751) x")! == (32751, 9))
        XCTAssertTrue(label("(d0) ")! == (0, 5))
    }

    func testNotLabels() {
        for s in ["(d) x", "(d2)x", "(d2", "d2) x", "(D2) x", "(d123456) x", "(d32752) x", "(apus) x", "", "(d2 ) x", "(dx) y"] {
            XCTAssertNil(label(s), s)
        }
    }
}
