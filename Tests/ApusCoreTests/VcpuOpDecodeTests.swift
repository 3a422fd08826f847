// VcpuOpDecodeTests.swift: vcpu_op's decoder: the one vCPU, the runstate info's OUT range, the
// singleshot timer's deadline and flag, each refusal with its errno and reason, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class VcpuOpDecodeTests: XCTestCase {
    func decode(_ op: UInt32, vcpu: UInt32 = 0, _ arg: UInt32, _ m: inout FakeGuestMemory) -> Decoded<VcpuOpRequest> {
        VcpuOpRequest.decode(HypercallArguments(op, vcpu, arg, 0, 0), &m)
    }

    func testEachCommand() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        guard case .isUp? = accepted(decode(VcpuOp.isUp.rawValue, 0, &m)) else { return XCTFail() }
        guard case .getRunstateInfo(let out)? = accepted(decode(VcpuOp.getRunstateInfo.rawValue, 0x2000, &m)) else { return XCTFail() }
        XCTAssertEqual(out, GuestRange(0x2000, count: UInt32(VcpuRunstateInfoLayout.size)))
        m.place32([0x89AB_CDEF, 0x0123_4567, VcpuSetSingleshotTimerLayout.futureFlag], at: 0x3000)
        guard case .setSingleshotTimer(let deadline, let future)? = accepted(decode(VcpuOp.setSingleshotTimer.rawValue, 0x3000, &m)) else { return XCTFail() }
        XCTAssertEqual(deadline, 0x0123_4567_89AB_CDEF)
        XCTAssertTrue(future)
        m.place32([5, 0, 2], at: 0x3000)
        guard case .setSingleshotTimer(5, false)? = accepted(decode(VcpuOp.setSingleshotTimer.rawValue, 0x3000, &m)) else { return XCTFail() }
        guard case .stopSingleshotTimer? = accepted(decode(VcpuOp.stopSingleshotTimer.rawValue, 0xFFFF_FFFF, &m)) else { return XCTFail() }
        guard case .stopPeriodicTimer? = accepted(decode(VcpuOp.stopPeriodicTimer.rawValue, 0, &m)) else { return XCTFail() }
        m.place32([0xC15F_4000, 0], at: 0x3100)
        guard case .registerRunstateArea(let area)? = accepted(decode(VcpuOp.registerRunstateMemoryArea.rawValue, 0x3100, &m)) else { return XCTFail() }
        XCTAssertEqual(area, GuestRange(0xC15F_4000, count: 44))
        m.place32([0, 0], at: 0x3100)
        guard case .registerRunstateArea(nil)? = accepted(decode(VcpuOp.registerRunstateMemoryArea.rawValue, 0x3100, &m)) else { return XCTFail() }
        XCTAssertEqual(m.copiesOut, 0)
    }

    /// Linux asks is_up (and more) for every possible CPU: other vCPUs get -ENOENT as an answer, for
    /// any command, even one this hypervisor does not know (Xen looks the vCPU up first).
    func testOtherVCPUsAreAnsweredNotRefused() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        for (op, vcpu) in [(VcpuOp.isUp.rawValue, UInt32(1)), (VcpuOp.registerVcpuInfo.rawValue, 31), (99, 0xFFFF_FFFF)] {
            guard case .noSuchVCPU? = accepted(decode(op, vcpu: vcpu, 0xFFFF_FFF8, &m)) else { return XCTFail("op \(op) vcpu \(vcpu)") }
        }
        XCTAssertEqual(m.copiesIn, 0)
    }

    /// Several vCPUs (issue #16): arg2 below the domain's count names one; at or above it is -ENOENT.
    func testBringUpCommandsForEachVCPU() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        func decode(_ op: VcpuOp, vcpu: UInt32, _ arg: UInt32) -> Decoded<VcpuOpRequest> {
            VcpuOpRequest.decode(HypercallArguments(op.rawValue, vcpu, arg, 0, 0), vcpus: 4, &m)
        }
        guard case .initialise(let range)? = accepted(decode(.initialise, vcpu: 3, 0x4000)) else { return XCTFail() }
        XCTAssertEqual(range, GuestRange(0x4000, count: UInt32(VcpuGuestContextLayout.size)))
        guard case .up? = accepted(decode(.up, vcpu: 1, 0)) else { return XCTFail() }
        guard case .down? = accepted(decode(.down, vcpu: 2, 0)) else { return XCTFail() }
        guard case .isUp? = accepted(decode(.isUp, vcpu: 3, 0)) else { return XCTFail() }
        guard case .noSuchVCPU? = accepted(decode(.up, vcpu: 4, 0)) else { return XCTFail() }
        guard case .noSuchVCPU? = accepted(decode(.initialise, vcpu: 8, 0x4000)) else { return XCTFail() }
        m.place32([2_000_000, 0], at: 0x5000)
        guard case .setPeriodicTimer(2_000_000)? = accepted(decode(.setPeriodicTimer, vcpu: 2, 0x5000)) else { return XCTFail() }
        m.place32([999_999, 0], at: 0x5000)
        assertRefused(decode(.setPeriodicTimer, vcpu: 2, 0x5000), .EINVAL, "set_periodic_timer: a period under 1 ms")
        m.place32([1_000_000, 0], at: 0x5000)
        guard case .setPeriodicTimer(1_000_000)? = accepted(decode(.setPeriodicTimer, vcpu: 2, 0x5000)) else { return XCTFail("1 ms itself is Xen's minimum") }
        m.place32([0xFFFF_FFFF, 0x3FFF_FFFF], at: 0x5000)
        guard case .setPeriodicTimer(UInt64.max >> 2)? = accepted(decode(.setPeriodicTimer, vcpu: 2, 0x5000)) else { return XCTFail("STIME_DELTA_MAX itself") }
        m.place32([0, 0x4000_0000], at: 0x5000)
        assertRefused(decode(.setPeriodicTimer, vcpu: 2, 0x5000), .EINVAL, "set_periodic_timer: a period beyond STIME_DELTA_MAX")
        assertRefused(decode(.setPeriodicTimer, vcpu: 2, 0x9000), .EFAULT, "vcpu_set_periodic_timer is not readable guest memory")
        assertRefused(decode(.initialise, vcpu: 1, GuestRange.limit - 100), .EFAULT, "vcpu_guest_context is not guest memory")
    }

    func testRefusals() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        assertRefused(decode(14, 0, &m), .ENOSYS, "unknown vcpu_op command")
        for op in [VcpuOp.sendNMI, .getPhysid] {
            assertRefused(decode(op.rawValue, 0x2000, &m), .ENOSYS, "this vcpu_op command is not implemented yet")
        }
        for va: UInt32 in [GuestRange.limit - 43, 0xFFFF_FFF0] {
            assertRefused(decode(VcpuOp.getRunstateInfo.rawValue, va, &m), .EFAULT, "vcpu_runstate_info is not writable guest memory")
        }
        for va: UInt32 in [GuestRange.limit - 11, 0xFFFF_FFF8, 0x9000] {
            assertRefused(decode(VcpuOp.setSingleshotTimer.rawValue, va, &m), .EFAULT, "vcpu_set_singleshot_timer is not readable guest memory")
        }
        for va: UInt32 in [GuestRange.limit - 7, 0xFFFF_FFF8, 0x9000] {
            assertRefused(decode(VcpuOp.registerRunstateMemoryArea.rawValue, va, &m), .EFAULT,
                          "vcpu_register_runstate_memory_area is not readable guest memory")
        }
        for area: UInt32 in [GuestRange.limit - 43, 0xFFFF_FFF0] {
            m.place32([area, 0], at: 0x3100)
            assertRefused(decode(VcpuOp.registerRunstateMemoryArea.rawValue, 0x3100, &m), .EFAULT, "the runstate area is not guest memory")
        }
        for va: UInt32 in [GuestRange.limit - 7, 0xFFFF_FFF8, 0x9000] {
            assertRefused(decode(VcpuOp.registerVcpuTimeMemoryArea.rawValue, va, &m), .EFAULT,
                          "vcpu_register_time_memory_area is not readable guest memory")
        }
        for area: UInt32 in [GuestRange.limit - 31, 0xFFFF_FFF0] {
            m.place32([area, 0], at: 0x3200)
            assertRefused(decode(VcpuOp.registerVcpuTimeMemoryArea.rawValue, 0x3200, &m), .EFAULT, "the time memory area is not guest memory")
        }
    }

    /// Linux's pvclock asks for a second vcpu_time_info in its own page: the area is one
    /// vcpu_time_info (32 bytes) at the address given; 0 stops the updates.
    func testTimeMemoryArea() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        m.place32([0xC17F_E000, 0], at: 0x3200)
        guard case .registerTimeArea(let area)? = accepted(decode(VcpuOp.registerVcpuTimeMemoryArea.rawValue, 0x3200, &m)) else { return XCTFail() }
        XCTAssertEqual(area, GuestRange(0xC17F_E000, count: 32))
        m.place32([GuestRange.limit - 32, 0], at: 0x3200)
        XCTAssertNotNil(accepted(decode(VcpuOp.registerVcpuTimeMemoryArea.rawValue, 0x3200, &m)), "an area ending at the limit is guest memory")
        m.place32([0, 0], at: 0x3200)
        guard case .registerTimeArea(nil)? = accepted(decode(VcpuOp.registerVcpuTimeMemoryArea.rawValue, 0x3200, &m)) else { return XCTFail() }
        XCTAssertEqual(m.copiesOut, 0)
    }

    /// Linux moves vcpu_info into its per-CPU area: a frame and an offset at which all 64 bytes fit.
    func testRegisterVcpuInfo() {
        var m = FakeGuestMemory(seed: 24)
        m.mappedPercent = 0
        m.place32([0x0000_3A2B, 0, 0xFC0, 0], at: 0x3300)
        guard case .registerVcpuInfo(let mfn, let offset)? = accepted(decode(VcpuOp.registerVcpuInfo.rawValue, 0x3300, &m)) else { return XCTFail() }
        XCTAssertEqual(mfn, 0x3A2B)
        XCTAssertEqual(offset, 0xFC0, "the last place 64 bytes fit")
        m.place32([0x0000_3A2B, 0, 0xFC1, 0], at: 0x3300)
        assertRefused(decode(VcpuOp.registerVcpuInfo.rawValue, 0x3300, &m), .EINVAL, "the vcpu_info would cross the end of its frame")
        m.place32([0x0000_3A2B, 1, 0x40, 0], at: 0x3300)
        assertRefused(decode(VcpuOp.registerVcpuInfo.rawValue, 0x3300, &m), .EINVAL, "the vcpu_info frame lies beyond any machine frame")
        assertRefused(decode(VcpuOp.registerVcpuInfo.rawValue, 0xFFFF_FFF8, &m), .EFAULT, "vcpu_register_vcpu_info is not readable guest memory")
        guard case .noSuchVCPU? = accepted(decode(VcpuOp.registerVcpuInfo.rawValue, vcpu: 1, 0x3300, &m)) else { return XCTFail("other vCPUs: -ENOENT") }
    }

    /// The copy's bytes are vcpu_time_info's, with the record's settled version.
    func testTimeCopyBytes() {
        let record = VcpuTimeRecord(version: 6, tscTimestamp: 0x1122_3344_5566_7788, systemTimeNs: 0x0102_0304_0506_0708,
                                    scale: TimeScale(mul: 0x8000_0001, shift: -2), flags: VcpuTimeInfo.flagTSCStable)
        let b = record.guestCopy
        XCTAssertEqual(b.count, 32)
        XCTAssertEqual(b.u32(0), 6)
        XCTAssertEqual(b.u64(8), 0x1122_3344_5566_7788)
        XCTAssertEqual(b.u64(16), 0x0102_0304_0506_0708)
        XCTAssertEqual(b.u32(24), 0x8000_0001)
        XCTAssertEqual(b.u8(28), 0xFE)
        XCTAssertEqual(b.u8(29), VcpuTimeInfo.flagTSCStable)
        XCTAssertEqual(b.u8(30), 0)
        XCTAssertEqual(b.u32(4), 0)
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 24, firstArgument: { $0.below(UInt32(16)) }) { a, m in
            switch VcpuOpRequest.decode(a, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.EFAULT, .ENOSYS, .EINVAL] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
