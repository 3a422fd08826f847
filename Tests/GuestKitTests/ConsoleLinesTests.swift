// ConsoleLinesTests.swift: the line assembler for relayed console output: one line per '\n', '\r'
// dropped, tabs expanded to 8-column stops, control bytes and non-ASCII shown as '?', long lines cut, and counters that only count.

import XCTest
@testable import GuestKit

final class ConsoleLinesTests: XCTestCase {
    func testLinesSplitOnNewlineAndCarriageReturnsVanish() {
        var c = ConsoleLines()
        XCTAssertEqual(c.feed(Array("one\r\ntw".utf8)), [Array("one".utf8)])
        XCTAssertEqual(c.feed(Array("o\n\n".utf8)), [Array("two".utf8), []])
        XCTAssertEqual(c.lines, 3)
        XCTAssertEqual(c.bytes, 10)
        XCTAssertNil(c.flush())
    }

    func testAGuestCannotForgeALabel() {
        var c = ConsoleLines()
        // An escape sequence, a NUL, a form feed and high bytes: all become '?', none breaks the line.
        let lines = c.feed([0x1B] + Array("[2J(d0) x".utf8) + [0, 12, 0xC3, 0xA9, 0x0B] + Array("y\n".utf8))
        XCTAssertEqual(lines, [Array("?[2J(d0) x?????y".utf8)])
    }

    func testTabsMoveToTheNextEighthColumn() {
        var c = ConsoleLines()
        XCTAssertEqual(c.feed(Array("model name\t: QEMU\nfpu\t\t: yes\n\tx\n".utf8)),
                       [Array("model name      : QEMU".utf8), Array("fpu             : yes".utf8), Array("        x".utf8)])
        let tabs = c.feed([UInt8](repeating: 9, count: 25) + [10])
        XCTAssertEqual(tabs.map(\.count), [160, 40], "tabs never make a line longer than the cut")
    }

    func testLongLinesAreCut() {
        var c = ConsoleLines()
        let lines = c.feed([UInt8](repeating: 0x61, count: 400) + [10])
        XCTAssertEqual(lines.map(\.count), [160, 160, 80])
        XCTAssertEqual(c.lines, 3)
    }

    func testFlushGivesTheUnfinishedLine() {
        var c = ConsoleLines()
        XCTAssertEqual(c.feed(Array("abc".utf8)), [])
        XCTAssertEqual(c.flush(), Array("abc".utf8))
        XCTAssertEqual(c.lines, 1)
        XCTAssertNil(c.flush())
    }
}
