// Tests that pin ABI numbers and in-memory layouts: frame-record size, errno values, hypercall numbers, selectors.
// Each number here is checked against the published ABI, never derived from the code under test.

import XCTest
import PVABI
@testable import ApusCore

final class LayoutTests: XCTestCase {
    func testFrameRecordIsSixteenBytes() {
        XCTAssertEqual(MemoryLayout<FrameRecord>.size, 16)
        XCTAssertEqual(MemoryLayout<FrameRecord>.stride, 16)
        XCTAssertEqual(MemoryLayout<FrameRecord>.alignment, 4)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.ownerRaw), 0)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.typeRaw), 2)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.flagsRaw), 3)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.typeCount), 4)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.refCount), 8)
        XCTAssertEqual(MemoryLayout<FrameRecord>.offset(of: \.next), 12)
    }

    func testFrameOwnerEncoding() {
        let owners: [FrameOwner] = [.free, .hypervisor, .notRAM, .bootModule, .domain(0), .domain(1), .domain(0x7FEF)]
        var raws = Set<UInt16>()
        for owner in owners {
            let raw = try! XCTUnwrap(owner.raw)
            XCTAssertEqual(FrameOwner(raw: raw), owner)
            raws.insert(raw)
        }
        XCTAssertEqual(raws.count, owners.count)
        XCTAssertEqual(FrameOwner.hypervisor.raw, 0x7FF2, "DOMID_XEN")
        XCTAssertEqual(FrameOwner.notRAM.raw, 0x7FF1, "DOMID_IO")
        XCTAssertNil(FrameOwner.domain(0x7FF0).raw)
        XCTAssertNil(FrameOwner(raw: 0x7FF0))
        XCTAssertNil(FrameOwner(raw: 0x8000))
        XCTAssertEqual(PageType.segmentDescriptor.rawValue, 5)
        XCTAssertEqual(FrameFlags.pinned.rawValue, 1)
        XCTAssertEqual(FrameFlags.validated.rawValue, 2)
    }

    func testErrnoValues() {
        let expected: [(XenError, Int32, StaticString)] = [
            (.EPERM, 1, "EPERM"), (.ENOENT, 2, "ENOENT"), (.ESRCH, 3, "ESRCH"), (.EINTR, 4, "EINTR"),
            (.EIO, 5, "EIO"), (.E2BIG, 7, "E2BIG"), (.EBADF, 9, "EBADF"), (.EAGAIN, 11, "EAGAIN"),
            (.ENOMEM, 12, "ENOMEM"), (.EACCES, 13, "EACCES"), (.EFAULT, 14, "EFAULT"), (.EBUSY, 16, "EBUSY"),
            (.EEXIST, 17, "EEXIST"), (.EXDEV, 18, "EXDEV"), (.ENODEV, 19, "ENODEV"), (.EINVAL, 22, "EINVAL"),
            (.ENOSPC, 28, "ENOSPC"), (.ERANGE, 34, "ERANGE"), (.ENOSYS, 38, "ENOSYS"),
        ]
        for (error, value, name) in expected {
            XCTAssertEqual(error.rawValue, value)
            XCTAssertEqual(error.negated, -value)
            XCTAssertEqual("\(error.name)", "\(name)")
        }
    }

    func testHypercallNumbers() {
        XCTAssertEqual(Hypercall.setTrapTable.rawValue, 0)
        XCTAssertEqual(Hypercall.mmuUpdate.rawValue, 1)
        XCTAssertEqual(Hypercall.setCallbacks.rawValue, 4)
        XCTAssertEqual(Hypercall.updateDescriptor.rawValue, 10)
        XCTAssertEqual(Hypercall.memoryOp.rawValue, 12)
        XCTAssertEqual(Hypercall.updateVAMapping.rawValue, 14)
        XCTAssertEqual(Hypercall.consoleIO.rawValue, 18)
        XCTAssertEqual(Hypercall.iret.rawValue, 23)
        XCTAssertEqual(Hypercall.mmuextOp.rawValue, 26)
        XCTAssertEqual(Hypercall.schedOp.rawValue, 29)
        XCTAssertEqual(Hypercall.eventChannelOp.rawValue, 32)
        XCTAssertEqual(Hypercall.domctl.rawValue, 36)
        XCTAssertEqual(Hypercall.xenpmuOp.rawValue, 40)
        XCTAssertNil(Hypercall(rawValue: 11))
        XCTAssertNil(Hypercall(rawValue: 25))
        XCTAssertNil(Hypercall(rawValue: 41))
        // Every listed number has a case and a distinct name.
        var names = Set<String>()
        for number: UInt32 in 0...40 where number != 11 && number != 25 {
            let call = try! XCTUnwrap(Hypercall(rawValue: number), "hypercall \(number)")
            names.insert("\(call.name)")
        }
        XCTAssertEqual(names.count, 39)
        XCTAssertEqual("\(Hypercall.updateVAMappingOtherdomain.name)", "update_va_mapping_otherdomain")
    }

    func testSelectorsAndLayout() {
        XCTAssertEqual(Selector.flatRing1CS, 0xe019)
        XCTAssertEqual(Selector.flatRing1DS, 0xe021)
        XCTAssertEqual(Selector.flatRing1SS, 0xe021)
        XCTAssertEqual(Selector.flatRing3CS, 0xe02b)
        XCTAssertEqual(Selector.flatRing3DS, 0xe033)
        XCTAssertEqual(Selector.flatRing3SS, 0xe033)
        // hypervisorCS and hypervisorDS are compared with Boot/layout.inc (AddressMapTests). The
        // TSS is the hypervisor's own: a ring-0 GDT selector in the reserved page.
        XCTAssertEqual(Selector.tss & 7, 0)
        XCTAssertGreaterThanOrEqual(Int(Selector.tss >> 3), Selector.firstReservedGDTEntry)
        XCTAssertLessThan(Int(Selector.tss >> 3), Selector.firstReservedGDTEntry + Selector.gdtEntriesPerPage)
        XCTAssertEqual(Selector.firstReservedGDTEntry, Selector.firstReservedGDTPage * Selector.gdtEntriesPerPage)
        XCTAssertEqual(Int(Selector.hypervisorCS >> 3), Selector.firstReservedGDTEntry + 1)
        XCTAssertEqual(XenLayout.hypervisorVirtStart, 0xF580_0000)
        XCTAssertEqual(XenLayout.mach2physVirtEnd - XenLayout.mach2physVirtStart, 16 << 20)
        XCTAssertEqual(XenLayout.guestSegmentMaxAddr, XenLayout.mach2physVirtEnd)
        // The hypervisor owns the top 168 MiB.
        XCTAssertEqual(UInt64(1) << 32 - UInt64(XenLayout.hypervisorVirtStart), 168 << 20)
    }
}
