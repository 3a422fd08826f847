// Tests of PhysicalMemory's default store8, storeBytes and zero, built on the required 32- and 64-bit stores.
// They use FakePhysicalMemory, which has no byte store of its own, so the defaults are what runs.

import XCTest
@testable import ApusCore

final class PhysicalMemoryDefaultsTests: XCTestCase {
    func testStore8ChangesOneByte() {
        var memory = FakePhysicalMemory(base: 0x1000, size: 64)
        memory.put32(0x1004, 0x4433_2211)
        XCTAssertTrue(memory.store8(0x1006, 0xAB))
        XCTAssertEqual(memory.load32(0x1004), 0x44AB_2211)
        XCTAssertFalse(memory.store8(0x0FFF, 1))
        XCTAssertFalse(memory.store8(0x1040, 1))
    }

    func testStoreBytesAtEveryAlignment() {
        let source = (0..<37).map { UInt8($0 + 1) }
        for offset in 0..<9 {
            var memory = FakePhysicalMemory(base: 0x2000, size: 64)
            let ok = source.withUnsafeBytes { memory.storeBytes(0x2000 + UInt64(offset), $0) }
            XCTAssertTrue(ok)
            XCTAssertEqual(Array(memory.bytes[offset..<offset + 37]), source)
            XCTAssertTrue(memory.bytes[..<offset].allSatisfy { $0 == 0 })
            XCTAssertTrue(memory.bytes[(offset + 37)...].allSatisfy { $0 == 0 })
        }
    }

    func testStoreBytesFailsOutside() {
        var memory = FakePhysicalMemory(base: 0, size: 16)
        let ok = [UInt8](repeating: 1, count: 8).withUnsafeBytes { memory.storeBytes(12, $0) }
        XCTAssertFalse(ok)
        let wraps = [UInt8](repeating: 1, count: 8).withUnsafeBytes { memory.storeBytes(UInt64.max - 3, $0) }
        XCTAssertFalse(wraps)
    }

    func testZero() {
        for offset in 0..<9 {
            var memory = FakePhysicalMemory(base: 0, size: 48)
            memory.put(0, bytes: [UInt8](repeating: 0xEE, count: 48))
            XCTAssertTrue(memory.zero(UInt64(offset), count: 29))
            for k in 0..<48 {
                XCTAssertEqual(memory.bytes[k], k >= offset && k < offset + 29 ? 0 : 0xEE, "offset \(offset) byte \(k)")
            }
        }
        var memory = FakePhysicalMemory(base: 0, size: 16)
        XCTAssertFalse(memory.zero(8, count: 9))
        XCTAssertTrue(memory.zero(8, count: 0))
    }
}
