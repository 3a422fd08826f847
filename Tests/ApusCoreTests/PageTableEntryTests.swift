// Tests of PAE entry encoding, virtual-address indices and Xen's CR3 rotation.
// They must never assume a host page size; every value is PAE's.

import XCTest
import PVABI
@testable import ApusCore

final class PageTableEntryTests: XCTestCase {
    func testFlagBits() {
        XCTAssertEqual(PTEFlags.present.rawValue, 1)
        XCTAssertEqual(PTEFlags.writable.rawValue, 2)
        XCTAssertEqual(PTEFlags.user.rawValue, 4)
        XCTAssertEqual(PTEFlags.writeThrough.rawValue, 8)
        XCTAssertEqual(PTEFlags.cacheDisable.rawValue, 0x10)
        XCTAssertEqual(PTEFlags.accessed.rawValue, 0x20)
        XCTAssertEqual(PTEFlags.dirty.rawValue, 0x40)
        XCTAssertEqual(PTEFlags.pageSize.rawValue, 0x80)
        XCTAssertEqual(PTEFlags.global.rawValue, 0x100)
        XCTAssertEqual(PTEFlags.noExecute.rawValue, 1 << 63)
    }

    func testEncodeDecode() {
        let e = PageTableEntry(frame: 0x12_3456_789A, flags: [.present, .writable, .accessed, .noExecute])
        XCTAssertEqual(e.raw, 0x8001_2345_6789_A023)
        XCTAssertEqual(e.frame, 0x12_3456_789A)
        XCTAssertEqual(e.address, 0x12_3456_789A_000)
        XCTAssertEqual(e.flags, [.present, .writable, .accessed, .noExecute])
        XCTAssertTrue(e.isPresent)
        XCTAssertFalse(PageTableEntry.empty.isPresent)
        XCTAssertFalse(PageTableEntry(frame: 5, flags: [.writable]).isPresent)

        // The start-of-day flags XEN_ABI.md names.
        let l1 = PageTableEntry(frame: 0x1234, flags: [.present, .writable, .accessed])
        XCTAssertEqual(l1.raw, 0x123_4023)
        let l2 = PageTableEntry(frame: 0x1234, flags: [.present, .writable, .accessed, .dirty, .user])
        XCTAssertEqual(l2.raw, 0x123_4067)
    }

    func testRawRoundTrip() {
        var x: UInt64 = 0xC0FFEE
        for _ in 0..<1000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let e = PageTableEntry(raw: x)
            XCTAssertEqual(PageTableEntry(frame: e.frame, flags: e.flags), e)
            XCTAssertEqual(e.frame & ~PageTableEntry.maxFrame, 0)
        }
        XCTAssertEqual(PageTableEntry(frame: PageTableEntry.maxFrame, flags: []).raw, PageTableEntry.frameMask)
    }

    func testIndices() {
        XCTAssertEqual(PAE.entriesPerTable, 512)
        let va: UInt32 = 0xF580_1234
        XCTAssertEqual(PAE.l3Index(va), 3)
        XCTAssertEqual(PAE.l2Index(va), 0x1AC)
        XCTAssertEqual(PAE.l1Index(va), 1)
        XCTAssertEqual(PAE.l3Index(0), 0)
        XCTAssertEqual(PAE.l2Index(0xFFFF_FFFF), 511)
        XCTAssertEqual(PAE.l1Index(0xFFFF_FFFF), 511)
        XCTAssertEqual(PAE.l3Index(0xBFFF_FFFF), 2)
        // The hypervisor starts part way through L3 slot 3: its L2 slots are 0x1AC and up.
        XCTAssertEqual(PAE.l2Index(XenLayout.hypervisorVirtStart), 0x1AC)
        XCTAssertEqual(PAE.l1Index(XenLayout.hypervisorVirtStart), 0)
    }

    func testXenCR3Rotation() {
        XCTAssertEqual(PAE.xenPfnToCR3(mfn: 0x1234), 0x0123_4000)
        // A frame above 4 GiB keeps its high bits in CR3's low bits.
        XCTAssertEqual(PAE.xenPfnToCR3(mfn: 0x0012_3456), 0x2345_6001)
        for mfn: UInt32 in [0, 1, 0xFFFFF, 0x100000, 0xFFFF_FFFF, 0xABCD_EF01] {
            XCTAssertEqual(PAE.xenCR3ToPfn(PAE.xenPfnToCR3(mfn: mfn)), mfn)
        }
    }
}
