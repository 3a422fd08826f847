// LineEditorTests.swift: raw console bytes into lines: typing, backspace and DEL, both line ends and
// "\r\n", the 120-byte cap, ignored control bytes and escape sequences, and what each byte tells dom0 to echo.

import XCTest
import ApusCore
@testable import GuestKit

/// Feeds every byte and returns the completed lines, in order.
private func lines(_ input: [UInt8], into editor: inout LineEditor) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for b in input { if case .line(let l) = editor.feed(b) { out.append(l) } }
    return out
}

private func lines(_ input: String) -> [String] {
    var e = LineEditor()
    return lines(Array(input.utf8), into: &e).map { String(decoding: $0, as: UTF8.self) }
}

final class LineEditorTests: XCTestCase {
    func testTypingAndEitherLineEnd() {
        XCTAssertEqual(lines("list\r"), ["list"])
        XCTAssertEqual(lines("list\n"), ["list"])
        XCTAssertEqual(lines("a\rb\nc"), ["a", "b"])
        XCTAssertEqual(lines("\r"), [""])
    }

    func testCRLFMakesOneLine() {
        XCTAssertEqual(lines("list\r\ntop\r\n"), ["list", "top"])
        XCTAssertEqual(lines("\r\n\r\n"), ["", ""])
        // "\n\r" and "\n\n" are two line ends each.
        XCTAssertEqual(lines("a\n\rb\n\n"), ["a", "", "b", ""])
        // Only the byte right after '\r' is swallowed.
        XCTAssertEqual(lines("a\rx\n"), ["a", "x"])
    }

    func testBackspaceAndDelete() {
        XCTAssertEqual(lines("lisx\u{8}t\r"), ["list"])
        XCTAssertEqual(lines("topp\u{7F}\r"), ["top"])
        XCTAssertEqual(lines("ab\u{8}\u{8}\u{8}\u{8}cd\r"), ["cd"])
    }

    func testEventsTellWhatToEcho() {
        var e = LineEditor()
        XCTAssertEqual(e.feed(8), .ignored, "backspace on an empty line")
        XCTAssertEqual(e.feed(104), .appended(104))
        XCTAssertEqual(e.feed(105), .appended(105))
        XCTAssertEqual(e.pending, [104, 105])
        XCTAssertEqual(e.feed(127), .erased)
        XCTAssertEqual(e.feed(1), .ignored)
        XCTAssertEqual(e.feed(13), .line([104]))
        XCTAssertEqual(e.pending, [])
        XCTAssertEqual(e.feed(10), .ignored, "the \\n of \\r\\n")
        XCTAssertEqual(e.feed(10), .line([]))
    }

    func testControlAndNonASCIIBytesAreIgnored() {
        var e = LineEditor()
        for b in UInt8(0)...255 where !(32...126).contains(b) && b != 8 && b != 127 && b != 10 && b != 13 && b != 27 {
            XCTAssertEqual(e.feed(b), .ignored, "byte \(b)")
        }
        XCTAssertEqual(e.pending, [])
        XCTAssertEqual(lines("a\tb\u{7}c\u{0}\r"), ["abc"])
    }

    func testEscapeSequencesAreDropped() {
        // Up arrow (CSI and SS3 forms), Delete (ESC [ 3 ~), a colour sequence, and a lone ESC pair.
        XCTAssertEqual(lines("a\u{1B}[Ab\u{1B}OBc\u{1B}[3~d\u{1B}[1;31me\u{1B}xf\r"), ["abcdef"])
    }

    func testCapAt120Bytes() {
        var e = LineEditor()
        for i in 0..<200 {
            let event = e.feed(UInt8(97 + i % 26))
            XCTAssertEqual(event == .ignored, i >= LineEditor.capacity, "byte \(i)")
        }
        XCTAssertEqual(e.pending.count, 120)
        XCTAssertEqual(e.feed(8), .erased)
        XCTAssertEqual(e.feed(90), .appended(90))
        guard case .line(let l) = e.feed(13) else { return XCTFail("no line") }
        XCTAssertEqual(l.count, 120)
        XCTAssertEqual(l.last, 90)
    }

    func testRandomBytesKeepTheInvariants() {
        var rng = SplitMix64(seed: 0x11E)
        var e = LineEditor()
        for _ in 0..<50_000 {
            let b = UInt8(truncatingIfNeeded: rng.next())
            switch e.feed(b) {
            case .line(let l): XCTAssertTrue(l.count <= 120 && l.allSatisfy { (32...126).contains($0) })
            case .appended(let a): XCTAssertEqual(a, b)
            case .erased, .ignored: break
            }
            XCTAssertLessThanOrEqual(e.pending.count, 120)
        }
    }

    func testFeedsTheShellParser() {
        var e = LineEditor()
        let got = lines(Array("  destroz\u{7F}y\t 12\r\n".utf8), into: &e)
        XCTAssertEqual(got.map { ShellCommand(parsing: $0) }, [.destroy(.id(12))])
    }
}
