// VMAssistDecodeTests.swift: vm_assist's decoder: enable and disable of each known assist, each
// refusal with its errno and reason, the assist bits, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class VMAssistDecodeTests: XCTestCase {
    func decode(_ a1: UInt32, _ a2: UInt32) -> Decoded<VMAssistRequest> {
        var m = FakeGuestMemory(seed: 21)
        return VMAssistRequest.decode(HypercallArguments(a1, a2, 0, 0, 0), &m)
    }

    func testEnableAndDisable() {
        XCTAssertEqual(accepted(decode(VMAssistCommand.enable.rawValue, VMAssistType.writablePagetables.rawValue)), .enable(.writablePagetables))
        XCTAssertEqual(accepted(decode(VMAssistCommand.disable.rawValue, VMAssistType.paeExtendedCR3.rawValue)), .disable(.paeExtendedCR3))
        XCTAssertEqual(VMAssistType.paeExtendedCR3.bit, 1 << 3)
        XCTAssertEqual(VMAssistType.m2pStrict.bit, 0, "an x86_64 assist has no bit in a 32-bit word")
    }

    /// What 32-bit Linux 5.4 asks for at boot, each accepted (Xen's pv32 mask holds types 0-5).
    func testEveryPV32AssistIsAccepted() {
        for type in [VMAssistType.fourGBSegments, .fourGBSegmentsNotify, .writablePagetables, .paeExtendedCR3,
                     .architecturalIOPL, .runstateUpdateFlag] {
            XCTAssertEqual(accepted(decode(VMAssistCommand.enable.rawValue, type.rawValue)), .enable(type))
            XCTAssertNotEqual(VMAssistValid.pv32 & type.bit, 0)
        }
        XCTAssertEqual(VMAssistValid.pv32, 0x3F)
    }

    func testRefusals() {
        assertRefused(decode(2, 0), .ENOSYS, "unknown vm_assist command")
        assertRefused(decode(VMAssistCommand.enable.rawValue, 6), .EINVAL, "unknown vm_assist type")
        assertRefused(decode(VMAssistCommand.enable.rawValue, 32), .EINVAL, "m2p_strict is an assist for 64-bit guests only")
        assertRefused(decode(VMAssistCommand.enable.rawValue, 31), .EINVAL, "unknown vm_assist type")
        assertRefused(decode(7, 33), .EINVAL, "unknown vm_assist type")   // the type is checked before the command
        assertRefused(decode(VMAssistCommand.disable.rawValue, 0xFFFF_FFFF), .EINVAL, "unknown vm_assist type")
    }

    func testFuzzed() {
        let tally = DecoderFuzzing.run(seed: 21, firstArgument: { $0.below(UInt32(4)) }) { a, m in
            switch VMAssistRequest.decode(a, &m) {
            case .success: return nil
            case .failure(let r): return r.error.rawValue
            }
        }
        for e in [XenError.ENOSYS, .EINVAL] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
