// HypercallRecordTests.swift: GuestKit builds the structures it passes to hypercalls byte for byte
// as xen/include/public lays them out (x86_32). Expected bytes are written out from the headers,
// never computed from PVABI, so a wrong layout constant or a wrong encoder fails here.

import XCTest
import PVABI
@testable import GuestKit

private final class CountingTransport: HypercallTransport {
    var calls: [(number: UInt32, args: [UInt32])] = []
    func call(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32 {
        calls.append((number, [a1, a2, a3, a4, a5]))
        return 0
    }
}

final class HypercallRecordTests: XCTestCase {
    func testFieldsAreLittleEndianAtTheirOffsetsInTheirElement() {
        var r = HypercallRecord(stride: 12, count: 2)
        r.set(UInt32(0x1122_3344), at: 4, element: 1)
        r.set(UInt16(0xBEEF), at: 0)
        r.set(UInt8(0x7F), at: 11, element: 1)
        XCTAssertEqual(r.bytes, [0xEF, 0xBE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0x7F])
        XCTAssertEqual(r.get(UInt32.self, at: 4, element: 1), 0x1122_3344)
        XCTAssertEqual(r.get(UInt16.self, at: 0), 0xBEEF)
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r.append(), 2)
        XCTAssertEqual(r.bytes.count, 36)
    }

    /// struct mmu_update {uint64_t ptr; uint64_t val;}: 16 bytes per request.
    func testMMUBatchIsPtrThenValPerRequest() {
        var b = MMUBatch()
        b.normal(entryAt: 0x0000_0001_2345_6008, 0x8000_0000_0ABC_D063)
        b.machphys(mfn: 0x12345, pfn: 0x77)
        XCTAssertEqual(b.count, 2)
        XCTAssertEqual(b.record.bytes, [
            0x08, 0x60, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00,  0x63, 0xD0, 0xBC, 0x0A, 0x00, 0x00, 0x00, 0x80,
            0x01, 0x50, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00,  0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ])
        let t = CountingTransport()
        _ = b.run(Xen(t))
        XCTAssertEqual(t.calls.count, 1)
        XCTAssertEqual(t.calls[0].number, 1)                      // __HYPERVISOR_mmu_update
        XCTAssertEqual(t.calls[0].args[1], 2)
        XCTAssertEqual(t.calls[0].args[3], 0x7FF0)                // DOMID_SELF
    }

    /// struct mmuext_op {unsigned int cmd; union arg1; union arg2;}: 12 bytes on x86_32.
    func testMMUExtBatchIsCmdArg1Arg2PerOp() {
        var b = MMUExtBatch()
        b.add(.pinL1Table, 0x1234)
        b.add(.setLDT, 0xC000_0000, 512)
        XCTAssertEqual(b.record.bytes, [
            0, 0, 0, 0,  0x34, 0x12, 0, 0,  0, 0, 0, 0,
            13, 0, 0, 0,  0, 0, 0, 0xC0,  0x00, 0x02, 0, 0,
        ])
        let t = CountingTransport()
        _ = b.run(Xen(t))
        XCTAssertEqual(t.calls[0].number, 26)                     // __HYPERVISOR_mmuext_op
        XCTAssertEqual(t.calls[0].args[1], 2)
        XCTAssertEqual(t.calls[0].args[3], 0x7FF0)
    }
}
