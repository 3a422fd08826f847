// DebugRegDecodeTests.swift: set_debugreg's and get_debugreg's decoders as Xen checks a 32-bit PV vCPU:
// breakpoint addresses below the hypervisor, DR6/DR7 reserved bits forced, GD and I/O breakpoints
// refused, DR4/DR5 aliasing without CR4.DE, and the DR6 merge a #DB makes.

import XCTest
import PVABI
@testable import ApusCore

final class DebugRegDecodeTests: XCTestCase {
    func set(_ reg: UInt32, _ value: UInt32, de: Bool = false) -> Decoded<SetDebugRegRequest> {
        SetDebugRegRequest.decode(register: reg, value: value, cr4DE: de)
    }

    func testBreakpointAddresses() {
        XCTAssertEqual(accepted(set(0, 0xC100_0000)), .address(index: 0, value: 0xC100_0000))
        XCTAssertEqual(accepted(set(3, 0xF57F_FFFC)), .address(index: 3, value: 0xF57F_FFFC), "the last word below the hypervisor")
        for va: UInt32 in [0xF57F_FFFD, 0xF580_0000, 0xF680_0000, 0xFFFF_FFFF] {
            assertRefused(set(1, va), .EPERM, "set_debugreg: a breakpoint address in the hypervisor's area")
        }
    }

    func testStatusAndControlBits() {
        XCTAssertEqual(accepted(set(6, 0)), .status(0xFFFF_0FF0), "reserved DR6 bits read as 1")
        XCTAssertEqual(accepted(set(6, 0xFFFF_FFFF)), .status(0xFFFF_EFFF), "bit 12 is always 0")
        XCTAssertEqual(accepted(set(7, 0)), .control(0x400), "bit 10 is always 1")
        XCTAssertEqual(accepted(set(7, 0x0001_0001)), .control(0x0001_0401), "L0, write breakpoint")
        XCTAssertEqual(accepted(set(7, 0xD803)), .control(0x0403), "bits 11, 12, 14, 15 forced to 0")
        assertRefused(set(7, 0x2000), .EPERM, "set_debugreg: DR7.GD is the hypervisor's")
        assertRefused(set(7, 0x0020_0004), .EPERM, "set_debugreg: an I/O breakpoint in DR7")
        assertRefused(set(7, 0x2000_0001, de: true), .EPERM, "set_debugreg: an I/O breakpoint in DR7")
        // An I/O encoding with every breakpoint disabled is only stored.
        XCTAssertEqual(accepted(set(7, 0x0002_0000)), .control(0x0002_0400))
    }

    func testAliasesAndMissingRegisters() {
        XCTAssertEqual(accepted(set(4, 0)), .status(0xFFFF_0FF0))
        XCTAssertEqual(accepted(set(5, 0)), .control(0x400))
        assertRefused(set(4, 0, de: true), .ENODEV, "set_debugreg: no such debug register")
        assertRefused(set(5, 0, de: true), .ENODEV, "set_debugreg: no such debug register")
        assertRefused(set(8, 0), .ENODEV, "set_debugreg: no such debug register")
        XCTAssertEqual(accepted(GetDebugRegRequest.decode(register: 2, cr4DE: false)), .address(index: 2))
        XCTAssertEqual(accepted(GetDebugRegRequest.decode(register: 4, cr4DE: false)), .status)
        XCTAssertEqual(accepted(GetDebugRegRequest.decode(register: 6, cr4DE: true)), .status)
        XCTAssertEqual(accepted(GetDebugRegRequest.decode(register: 5, cr4DE: false)), .control)
        assertRefused(GetDebugRegRequest.decode(register: 5, cr4DE: true), .ENODEV, "get_debugreg: no such debug register")
        assertRefused(GetDebugRegRequest.decode(register: 0xFFFF_FFFF, cr4DE: false), .ENODEV, "get_debugreg: no such debug register")
    }

    /// A #DB: B0-B3 replaced by the new hit, single-step and the other status bits accumulate.
    func testDR6Merge() {
        let afterB0 = SetDebugRegRequest.mergedDR6(stored: 0xFFFF_0FF0, hardware: 0xFFFF_0FF1)
        XCTAssertEqual(afterB0, 0xFFFF_0FF1)
        let afterB2 = SetDebugRegRequest.mergedDR6(stored: afterB0, hardware: 0xFFFF_0FF4)
        XCTAssertEqual(afterB2, 0xFFFF_0FF4, "B0 does not survive a later hit on B2")
        let step = SetDebugRegRequest.mergedDR6(stored: afterB2, hardware: 0xFFFF_4FF0)
        XCTAssertEqual(step, 0xFFFF_4FF0, "a single step replaces the breakpoint bits with none, BS set")
        let both = SetDebugRegRequest.mergedDR6(stored: step, hardware: 0xFFFF_0FF8)
        XCTAssertEqual(both, 0xFFFF_4FF8, "BS accumulates until the guest clears DR6")
    }

    func testFuzzed() {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<20_000 {
            let reg = UInt32(truncatingIfNeeded: rng.next()) % 10, value = UInt32(truncatingIfNeeded: rng.next())
            let de = rng.next() & 1 == 0
            switch set(reg, value, de: de) {
            case .success(.address(let i, let v)): XCTAssert(i < 4 && v < XenLayout.hypervisorVirtStart)
            case .success(.status(let v)): XCTAssertEqual(v & 0xFFFF_0FF0, 0xFFFF_0FF0)
            case .success(.control(let v)):
                XCTAssertEqual(v & (DebugRegisterBits.dr7GeneralDetect | DebugRegisterBits.dr7Zeros), 0)
                XCTAssertEqual(v & 0x400, 0x400)
            case .failure(let r): XCTAssert([XenError.EPERM, .ENODEV].contains(r.error))
            }
        }
    }
}
