// GuestMSRPolicyTests.swift: the MSRs a PV kernel's rdmsr/wrmsr reach (Xen 4.17's PV answers, values
// written out by hand from its msr.c and emul-priv-op.c), CPUID faulting's two MSRs, and every refusal.

import XCTest
import PVABI
@testable import ApusCore

final class GuestMSRPolicyTests: XCTestCase {
    let state = GuestMSRState(nativeTSC: 0x1234_5678_9ABC, nativeEFER: 0x0000_0D01, cpuidFaulting: false)

    func testReads() {
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x10, state)), 0x1234_5678_9ABC)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x1B, state)), 0xFEE0_0900, "enabled, BSP, default base")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xCE, state)), 0x8000_0000, "CPUID faulting offered")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x140, state)), 0)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x277, state)), 0x0005_0100_0704_06)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x345, state)), 0)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xC000_0080, state)), 0x800, "NXE only: SCE, LME, LMA hidden")
        var on = state
        on.cpuidFaulting = true
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x140, on)), 1)
    }

    func testWrites() {
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0x140, 1, state)), .setCPUIDFaulting(true))
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0x140, 0, state)), .setCPUIDFaulting(false))
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0xC000_0080, 0x800, state)), .unchanged, "EFER written back as read")
        assertRefused(GuestMSRPolicy.write(0x140, 2, state), .EPERM, "wrmsr: MISC_FEATURES_ENABLES bits other than CPUID faulting")
        assertRefused(GuestMSRPolicy.write(0xC000_0080, 0xD01, state), .EPERM, "wrmsr: EFER may only be written with the value it reads")
        assertRefused(GuestMSRPolicy.write(0x10, 0, state), .EPERM, "wrmsr: an MSR a PV guest may only read")
        assertRefused(GuestMSRPolicy.write(0x1B, GuestMSR.apicBaseValue, state), .EPERM, "wrmsr: an MSR a PV guest may only read")
        assertRefused(GuestMSRPolicy.write(0x174, 0xE008, state), .EPERM, "wrmsr: an MSR Xen does not show a PV guest")
    }

    /// MISC_ENABLE and UCODE_REV: forwarded from the CPU (MISC_ENABLE as guest_misc_enable filters it);
    /// a #GP where the CPU's own rdmsr faults; UCODE_REV takes only Intel's write of 0.
    func testForwardedMSRs() {
        var cpu = state
        cpu.nativeMiscEnable = 0x0085_0089                 // fast strings, PERF_AVAIL, MONITOR, ...
        cpu.nativeUcodeRev = 0x0000_00F0_0000_0000
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x1A0, cpu)), 0x0081_1809, "PERF_AVAIL and MONITOR off; BTS, PEBS unavailable; xTPR off")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x8B, cpu)), 0x0000_00F0_0000_0000)
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0x1A0, 0x1234, cpu)), .unchanged, "dropped")
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0x8B, 0, cpu)), .unchanged, "Intel's write of 0 before reading")
        assertRefused(GuestMSRPolicy.write(0x8B, 1, cpu), .EPERM, "wrmsr: UCODE_REV takes only Intel's write of 0")
        var amd = cpu
        amd.amd = true
        assertRefused(GuestMSRPolicy.write(0x8B, 0, amd), .EPERM, "wrmsr: UCODE_REV takes only Intel's write of 0")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x8B, amd)), 0x0000_00F0_0000_0000, "AMD's PATCHLEVEL")
        assertRefused(GuestMSRPolicy.read(0x1A0, state), .EPERM, "rdmsr: this CPU has no MISC_ENABLE")
        assertRefused(GuestMSRPolicy.read(0x8B, state), .EPERM, "rdmsr: this CPU has no UCODE_REV")
        assertRefused(GuestMSRPolicy.write(0x1A0, 0, state), .EPERM, "wrmsr: this CPU has no MISC_ENABLE")
    }

    /// The vendors' performance counters (vPMU off) and AMD's DE_CFG.
    func testVendorMSRs() {
        var amd = state
        amd.amd = true
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xC001_1029, amd)), 2, "DE_CFG: LFENCE serialising")
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0xC001_1029, 0x1234, amd)), .unchanged, "dropped")
        assertRefused(GuestMSRPolicy.read(0xC001_1029, state), .EPERM, "rdmsr: an MSR Xen does not show a PV guest")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xC001_0000, amd)), 0)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xC001_0007, amd)), 0)
        XCTAssertEqual(accepted(GuestMSRPolicy.write(0xC001_0004, 5, amd)), .unchanged)
        assertRefused(GuestMSRPolicy.read(0xC001_0008, amd), .EPERM, "rdmsr: an MSR Xen does not show a PV guest")
        assertRefused(GuestMSRPolicy.read(0xC001_0000, state), .EPERM, "rdmsr: an MSR Xen does not show a PV guest")
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0xC1, state)), 0)
        XCTAssertEqual(accepted(GuestMSRPolicy.read(0x189, state)), 0)
        assertRefused(GuestMSRPolicy.read(0xC1, amd), .EPERM, "rdmsr: an MSR Xen does not show a PV guest")
        assertRefused(GuestMSRPolicy.read(0xC001_0055, amd), .EPERM, "rdmsr: an MSR Xen does not show a PV guest")
    }

    func testEverythingElseIsAGeneralProtection() {
        let common: Set<UInt32> = [0x10, 0x1B, 0xCE, 0x140, 0x277, 0x345, 0xC000_0080]
        let intelCounters = Set<UInt32>(Array(0xC1...0xC8) + Array(0x186...0x189))
        let amdOnly = Set<UInt32>(Array(0xC001_0000...0xC001_0007) + [0xC001_1029])
        var rng = SplitMix64(seed: 0x35)
        for vendorIsAMD in [false, true] {
            var s = state
            s.amd = vendorIsAMD
            let known = common.union(vendorIsAMD ? amdOnly : intelCounters)
            for i in 0..<50_000 {
                let msr = i < 0x2000 ? UInt32(i) : (i < 0x4000 ? 0xC000_F000 + UInt32(i) : UInt32(truncatingIfNeeded: rng.next()))
                switch GuestMSRPolicy.read(msr, s) {
                case .success: XCTAssertTrue(known.contains(msr), "\(msr)")
                case .failure(let r): XCTAssertFalse(known.contains(msr), "\(msr)"); XCTAssertEqual(r.error, .EPERM)
                }
                if case .success = GuestMSRPolicy.write(msr, rng.next(), s) {
                    XCTAssertTrue(msr == 0x140 || msr == 0xC000_0080 || known.subtracting(common).contains(msr), "\(msr)")
                }
            }
        }
    }
}
