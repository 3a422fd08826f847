// GuestMemoryWritesTests.swift: the field-sized writes the acting halves use (u16, u64, a byte buffer)
// and GuestRange.field: what they store, and that they refuse a range too short for the data.

import XCTest
import PVABI
@testable import ApusCore

final class GuestMemoryWritesTests: XCTestCase {
    func testFieldWritesStoreLittleEndianAndStayInsideTheirRange() {
        var m = FakeGuestMemory(seed: 9)
        m.mappedPercent = 0
        m.place(Array(repeating: 0xAA, count: 16), at: 0x2000)
        let r = GuestRange(0x2000, count: 16)!
        XCTAssertTrue(m.write16(0x1234, to: r.field(0, 2)!))
        XCTAssertTrue(m.write64(0x0102_0304_0506_0708, to: r.field(4, 8)!))
        XCTAssertEqual(m.pages[2]![0..<14].map { $0 }, [0x34, 0x12, 0xAA, 0xAA, 8, 7, 6, 5, 4, 3, 2, 1, 0xAA, 0xAA])
        XCTAssertFalse(m.write64(1, to: r.field(12, 4)!), "a u64 needs 8 bytes")
        XCTAssertNil(r.field(12, 8), "a field past the end of its struct does not exist")
        XCTAssertNil(r.field(-1, 2))
    }

    func testBufferWrites() {
        var m = FakeGuestMemory(seed: 9)
        m.mappedPercent = 0
        m.place(Array(repeating: 0, count: 4096), at: 0x3000)
        let r = GuestRange(0x3000, count: 4096)!
        let text: [UInt8] = Array(repeating: 0x41, count: 4096)
        XCTAssertTrue(text.withUnsafeBytes { m.write($0, to: r) })
        XCTAssertEqual(m.bytesOut, 4096)
        XCTAssertFalse(text.withUnsafeBytes { m.write($0, to: r.field(0, 4095)!) }, "more bytes than the range holds")
        XCTAssertTrue([UInt8]().withUnsafeBytes { m.write($0, to: r) }, "nothing to write")
        XCTAssertEqual(m.readArray(r.field(0, 3)!), [0x41, 0x41, 0x41])
        XCTAssertEqual(m.readArray(GuestRange(0x3000, count: 0)!), [])
        XCTAssertNil(m.readArray(GuestRange(0x9000, count: 4)!))
    }
}
