// CRC32Tests.swift: dom0's CRC-32 against zlib's check values, so the devices scenario's host-side
// comparison (Python's zlib.crc32) means what it says.

import XCTest
@testable import GuestKit

final class CRC32Tests: XCTestCase {
    func crc(_ s: String) -> UInt32 { Array(s.utf8).withUnsafeBytes { CRC32.of($0) } }

    func testCheckValues() {
        XCTAssertEqual(crc("123456789"), 0xCBF4_3926)
        XCTAssertEqual(crc(""), 0)
        XCTAssertEqual(crc("The quick brown fox jumps over the lazy dog"), 0x414F_A339)
        let zeros = [UInt8](repeating: 0, count: 512)
        XCTAssertEqual(zeros.withUnsafeBytes { CRC32.of($0) }, 0xB2AA_7578)
    }

    func testContinuing() {
        let whole = crc("hello, world")
        let first = crc("hello, ")
        let rest = Array("world".utf8).withUnsafeBytes { CRC32.of($0, continuing: first) }
        XCTAssertEqual(rest, whole)
    }
}
