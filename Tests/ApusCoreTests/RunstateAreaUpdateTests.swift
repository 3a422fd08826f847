// RunstateAreaUpdateTests.swift: the runstate area's writes with and without vm_assist
// runstate_update_flag: the flag set in state_entry_time before the body, cleared after, nothing
// written outside the area, and a refusal when the area is not writable.

import XCTest
import PVABI
@testable import ApusCore

/// Guest memory that records each copy out (start, bytes) over a byte array at `base`.
private struct RecordingMemory: GuestMemoryAccess {
    var base: UInt32 = 0x3000
    var bytes = [UInt8](repeating: 0xEE, count: 128)
    var writes: [(UInt32, [UInt8])] = []
    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool { false }
    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        guard range.start >= base, range.end <= base + UInt32(bytes.count) else { return false }
        let data = (0..<Int(range.count)).map { source.load(fromByteOffset: $0, as: UInt8.self) }
        for (i, b) in data.enumerated() { bytes[Int(range.start - base) + i] = b }
        writes.append((range.start, data))
        return true
    }
    mutating func read32(_ range: GuestRange) -> UInt32? { nil }
}

final class RunstateAreaUpdateTests: XCTestCase {
    func info() -> GuestBytes<44> {
        var b = GuestBytes<44>(count: VcpuRunstateInfoLayout.size)
        b.set32(VcpuRunstateInfoLayout.stateOffset, 0)
        b.set64(VcpuRunstateInfoLayout.stateEntryTimeOffset, 0x0000_1234_5678_9ABC)
        b.set64(VcpuRunstateInfoLayout.timeOffset, 77)
        return b
    }

    func testFlaggedUpdateSetsThenClearsTheBit() {
        var m = RecordingMemory()
        let area = GuestRange(0x3010, count: 44)!
        XCTAssertTrue(RunstateAreaUpdate.write(info(), to: area, flagged: true, &m))
        XCTAssertEqual(m.writes.count, 3)
        func u64(_ d: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }
        XCTAssertEqual(m.writes[0].0, 0x3014)
        XCTAssertEqual(u64(m.writes[0].1, 0), 0x8000_1234_5678_9ABC, "the flag goes in first")
        XCTAssertEqual(u64(m.writes[1].1, 4), 0x8000_1234_5678_9ABC, "the body is written with the flag still set")
        XCTAssertEqual(m.writes[2].0, 0x3014)
        XCTAssertEqual(u64(m.bytes, 0x14), 0x0000_1234_5678_9ABC, "and it is cleared last")
        XCTAssertEqual(m.bytes[0x0F], 0xEE)
        XCTAssertEqual(m.bytes[0x10 + 44], 0xEE, "nothing outside the area")
    }

    func testPlainUpdateIsOneCopy() {
        var m = RecordingMemory()
        XCTAssertTrue(RunstateAreaUpdate.write(info(), to: GuestRange(0x3010, count: 44)!, flagged: false, &m))
        XCTAssertEqual(m.writes.count, 1)
        XCTAssertFalse(RunstateAreaUpdate.write(info(), to: GuestRange(0x9000, count: 44)!, flagged: true, &m), "unmapped: refused")
    }
}
