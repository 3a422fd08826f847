// PhysdevOpDecodeTests.swift: physdev_op's and platform_op's decoders: set_iopl and set_iobitmap for
// any PV guest, status queries and EOIs in range, dom0's map_pirq/unmap_pirq fields, the EOI map,
// -EPERM for dom0's commands from a domU after the argument is read, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class PhysdevOpDecodeTests: XCTestCase {
    func decode(_ op: UInt32, _ arg: UInt32, privileged: Bool = false, _ m: inout FakeGuestMemory) -> Decoded<PhysdevOpRequest> {
        PhysdevOpRequest.decode(HypercallArguments(op, arg, 0, 0, 0), privileged: privileged, &m)
    }

    func blank() -> FakeGuestMemory {
        var m = FakeGuestMemory(seed: 33)
        m.mappedPercent = 0
        return m
    }

    /// What Linux 5.4 asks at boot: set_iopl 1 (xen_start_kernel) and pirq_eoi_gmfn_v2 (xen_init_IRQ).
    func testWhatLinuxAsks() {
        var m = blank()
        m.place32([1], at: 0x2000)
        XCTAssertEqual(accepted(decode(PhysdevOp.setIOPL.rawValue, 0x2000, &m)), .setIOPL(1))
        m.place32([0x1_2345], at: 0x2100)
        XCTAssertEqual(accepted(decode(PhysdevOp.pirqEOIGmfnV2.rawValue, 0x2100, &m)), .registerEOIMap(mfn: 0x1_2345, autoUnmask: false))
        XCTAssertEqual(accepted(decode(PhysdevOp.pirqEOIGmfnV1.rawValue, 0x2100, &m)), .registerEOIMap(mfn: 0x1_2345, autoUnmask: true))
        XCTAssertEqual(m.copiesOut, 0)
    }

    func testIOPLAndBitmap() {
        var m = blank()
        for iopl: UInt32 in 0...3 {
            m.place32([iopl], at: 0x2000)
            XCTAssertEqual(accepted(decode(PhysdevOp.setIOPL.rawValue, 0x2000, &m)), .setIOPL(iopl))
        }
        m.place32([4], at: 0x2000)
        assertRefused(decode(PhysdevOp.setIOPL.rawValue, 0x2000, &m), .EINVAL, "set_iopl: an IOPL above 3")
        m.place32([0xC100_0000, 1024], at: 0x2000)
        XCTAssertEqual(accepted(decode(PhysdevOp.setIOBitmap.rawValue, 0x2000, &m)),
                       .setIOBitmap(bitmap: GuestRange(0xC100_0000, count: 8192), ports: 1024))
        m.place32([0, 0], at: 0x2000)
        XCTAssertEqual(accepted(decode(PhysdevOp.setIOBitmap.rawValue, 0x2000, &m)), .setIOBitmap(bitmap: nil, ports: 0))
        for (va, ports): (UInt32, UInt32) in [(0xC100_0000, 65537), (GuestRange.limit - 8191, 8), (0xFFFF_F000, 1)] {
            m.place32([va, ports], at: 0x2000)
            assertRefused(decode(PhysdevOp.setIOBitmap.rawValue, 0x2000, &m), .EINVAL,
                          "set_iobitmap: the bitmap is not guest memory or covers more than 65536 ports")
        }
    }

    func testPirqsADomUCannotHave() {
        var m = blank()
        m.place32([PirqLimits.perDomain - 1, 0], at: 0x2000)
        XCTAssertEqual(accepted(decode(PhysdevOp.irqStatusQuery.rawValue, 0x2000, &m)),
                       .irqStatusQuery(pirq: PirqLimits.perDomain - 1, out: GuestRange(0x2004, count: 4)!))
        m.place32([PirqLimits.perDomain, 0], at: 0x2000)
        assertRefused(decode(PhysdevOp.irqStatusQuery.rawValue, 0x2000, &m), .EINVAL, "irq_status_query: past the domain's pirqs")
        m.place32([3], at: 0x2000)
        XCTAssertEqual(accepted(decode(PhysdevOp.eoi.rawValue, 0x2000, &m)), .eoi(pirq: 3))
        m.place32([0xFFFF_FFFF], at: 0x2000)
        assertRefused(decode(PhysdevOp.eoi.rawValue, 0x2000, &m), .EINVAL, "eoi: past the domain's pirqs")
        var untouched = blank()
        XCTAssertEqual(accepted(decode(PhysdevOp.irqUnmaskNotify.rawValue, 0xFFFF_FFFF, &untouched)), .unmaskNotify)
        XCTAssertEqual(untouched.copiesIn, 0, "irq_unmask_notify reads nothing")
    }

    /// Xen copies the argument first, then its XSM check says -EPERM: a bad pointer is -EFAULT even
    /// for a command the domain may not use.
    func testDom0CommandsAfterTheArgumentIsRead() {
        var m = blank()
        let dom0Only: [PhysdevOp] = [.apicRead, .apicWrite, .allocIRQVector, .mapPirq, .unmapPirq, .managePCIAdd, .managePCIRemove,
                                     .restoreMSI, .managePCIAddExt, .setupGSI, .pciMMCFGReserved, .pciDeviceAdd, .pciDeviceRemove,
                                     .restoreMSIExt, .dbgpOp, .prepareMSIX, .releaseMSIX, .pciDeviceReset]
        m.place(Array(repeating: 0, count: 64), at: 0x2000)
        for op in dom0Only {
            guard case .failure(let r) = decode(op.rawValue, 0x2000, &m) else { return XCTFail("\(op) accepted from a domU") }
            XCTAssertEqual(r.error, .EPERM, "\(op)")
            guard case .failure(let f) = decode(op.rawValue, 0x9000, &m) else { return XCTFail("\(op)") }
            XCTAssertEqual(f.error, .EFAULT, "\(op): the argument is read before the privilege check")
            if op == .mapPirq || op == .unmapPirq { continue }
            XCTAssertEqual(accepted(decode(op.rawValue, 0x2000, privileged: true, &m)), .notOffered(op))
        }
        assertRefused(decode(PhysdevOp.getFreePirq.rawValue, 0x2000, &m), .ENOSYS, "get_free_pirq: physical IRQs are not offered to domUs here")
        assertRefused(decode(PhysdevOp.freeIRQVector.rawValue, 0x9000, &m), .ENOSYS, "free_irq_vector is a command Xen does not answer")
        assertRefused(decode(18, 0x2000, &m), .ENOSYS, "unknown physdev_op command")
        assertRefused(decode(PhysdevOp.setIOPL.rawValue, GuestRange.limit - 3, &m), .EFAULT, "the physdev_op argument is not readable guest memory")
        // The argument sizes are the x86_32 structs'.
        XCTAssertEqual(PhysdevOp.mapPirq.argumentSize, 36)
        XCTAssertEqual(PhysdevOp.apicRead.argumentSize, 12)
        XCTAssertEqual(PhysdevOp.irqStatusQuery.argumentSize, 8)
    }

    /// dom0's map_pirq and unmap_pirq: every IN field read from its offset, the OUT pirq's range.
    func testMapAndUnmapPirqFields() {
        var m = blank()
        m.place([0xF0, 0x7F, 0, 0], at: 0x2000)                       // domid DOMID_SELF
        m.place32([PhysdevMapPirqLayout.typeGSI, 11, 0xFFFF_FFFF, 0, 0, 0, 0, 0], at: 0x2004)
        XCTAssertEqual(accepted(decode(PhysdevOp.mapPirq.rawValue, 0x2000, privileged: true, &m)),
                       .mapPirq(domain: 0x7FF0, type: 1, index: 11, pirq: 0xFFFF_FFFF, out: GuestRange(0x200C, count: 4)!))
        m.place([3, 0, 0, 0], at: 0x3000)
        m.place32([9], at: 0x3004)
        XCTAssertEqual(accepted(decode(PhysdevOp.unmapPirq.rawValue, 0x3000, privileged: true, &m)), .unmapPirq(domain: 3, pirq: 9))
        // The struct must be readable whole (36 bytes) before anything is decided.
        assertRefused(decode(PhysdevOp.mapPirq.rawValue, GuestRange.limit - 20, privileged: true, &m), .EFAULT,
                      "the physdev_op argument is not readable guest memory")
    }

    func testPlatformOp() {
        var m = blank()
        m.place32([52, PlatformOpLayout.interfaceVersion], at: 0x3000)
        m.place(Array(repeating: 0, count: 128), at: 0x3008)
        assertRefused(PlatformOpRequest.decode(HypercallArguments(0x3000, 0, 0, 0, 0), privileged: false, &m), .EPERM, "platform_op is for dom0 only")
        XCTAssertEqual(accepted(PlatformOpRequest.decode(HypercallArguments(0x3000, 0, 0, 0, 0), privileged: true, &m)), .command(52))
        m.place32([52, 0x0300_0000], at: 0x3000)
        assertRefused(PlatformOpRequest.decode(HypercallArguments(0x3000, 0, 0, 0, 0), privileged: false, &m), .EACCES,
                      "platform_op: not XENPF_INTERFACE_VERSION")
        assertRefused(PlatformOpRequest.decode(HypercallArguments(0x9000, 0, 0, 0, 0), privileged: false, &m), .EFAULT,
                      "xen_platform_op is not readable guest memory")
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 33, firstArgument: { $0.below(UInt32(34)) }) { a, m in
            switch PhysdevOpRequest.decode(a, privileged: a.a3 & 1 != 0, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.EFAULT, .ENOSYS] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
        _ = DecoderFuzzing.run(seed: 7) { a, m in
            switch PlatformOpRequest.decode(a, privileged: a.a2 & 1 != 0, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
    }
}
