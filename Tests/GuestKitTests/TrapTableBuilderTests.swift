// TrapTableBuilderTests.swift: the exact bytes of the trap_info array a kernel hands to
// set_trap_table: vector, DPL and mask-events flag, code selector, handler, zero terminator.

import XCTest
import PVABI
@testable import GuestKit

final class TrapTableBuilderTests: XCTestCase {
    func testOneEntryByteForByte() {
        var b = TrapTableBuilder()
        b.add(vector: 14, dpl: 0, maskEvents: true, cs: 0xE019, address: 0xC010_1234)
        XCTAssertEqual(b.bytes, [14, 0x04, 0x19, 0xE0, 0x34, 0x12, 0x10, 0xC0])
    }

    func testDPLAndTheMaskFlagShareTheFlagsByte() {
        let cases: [(UInt8, Bool, UInt8)] = [(0, false, 0), (1, false, 1), (3, false, 3), (0, true, 4), (3, true, 7)]
        for (dpl, mask, flags) in cases {
            var b = TrapTableBuilder()
            b.add(vector: 0x80, dpl: dpl, maskEvents: mask, cs: 0xE019, address: 0x1000)
            XCTAssertEqual(b.bytes[1], flags, "dpl \(dpl) mask \(mask)")
        }
        // The mask flag defaults to off (a trap gate), and a DPL above 3 cannot spill into it.
        var b = TrapTableBuilder()
        b.add(vector: 3, dpl: 7, cs: 0xE019, address: 0x1000)
        XCTAssertEqual(b.bytes[1], 3)
    }

    func testEntriesAppendInOrderAndTerminateWithAZeroEntry() {
        var b = TrapTableBuilder()
        b.add(vector: 0, dpl: 0, cs: 0xE019, address: 0xC000_0100)
        b.add(vector: 3, dpl: 3, cs: 0xE019, address: 0xC000_0200)
        b.add(vector: 0x80, dpl: 3, maskEvents: true, cs: 0xE019, address: 0xC000_0300)
        let table = b.terminated()
        XCTAssertEqual(table, [
            0x00, 0x00, 0x19, 0xE0, 0x00, 0x01, 0x00, 0xC0,
            0x03, 0x03, 0x19, 0xE0, 0x00, 0x02, 0x00, 0xC0,
            0x80, 0x07, 0x19, 0xE0, 0x00, 0x03, 0x00, 0xC0,
            0, 0, 0, 0, 0, 0, 0, 0,
        ])
        XCTAssertEqual(b.bytes.count, 3 * TrapInfoLayout.size, "terminated() leaves the builder unterminated")
    }

    func testAnEmptyTableIsJustTheTerminator() {
        XCTAssertEqual(TrapTableBuilder().terminated(), [UInt8](repeating: 0, count: 8))
    }

    func testEntriesReadBackAsTheHypervisorDecodesThem() {
        var b = TrapTableBuilder()
        b.add(vector: 13, dpl: 1, maskEvents: true, cs: 0xE019, address: 0xC012_3456)
        let e = b.bytes
        func word(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(e[at + $1]) << (8 * UInt32($1)) } }
        let info = TrapInfo(low: word(0), high: word(4))
        XCTAssertEqual(info, TrapInfo(vector: 13, flags: 5, cs: 0xE019, address: 0xC012_3456))
        XCTAssertEqual(info.dpl, 1)
        XCTAssertTrue(info.masksEvents)
        XCTAssertTrue(info.hasHandler)
    }
}
