// EmulatedRetirementTests.swift: what follows an emulated instruction, as Xen's pv_emul_instruction_done:
// RF always cleared, a #DB with DR6.BS exactly when TF was set, the rest of DR6 merged as a #DB merges it.

import XCTest
import PVABI
@testable import ApusCore

final class EmulatedRetirementTests: XCTestCase {
    let tf = EmulatedRetirement.trapFlag
    let rf = EmulatedRetirement.resumeFlag

    func testWithoutTrapFlagNoDebugTrapAndRFCleared() {
        let r = EmulatedRetirement.after(eflags: 0x0000_0246 | rf, storedDR6: 0xFFFF_0FF0)
        XCTAssertEqual(r, EmulatedRetirement(eflags: 0x0000_0246, debugStatus: nil))
        XCTAssertNil(EmulatedRetirement.after(eflags: 0x0000_3202, storedDR6: 0xFFFF_4FF1).debugStatus,
                     "IOPL, IF and DR6 do not matter without TF")
    }

    func testTrapFlagGivesSingleStepStatus() {
        let r = EmulatedRetirement.after(eflags: 0x0000_0202 | tf | rf, storedDR6: 0xFFFF_0FF0)
        XCTAssertEqual(r.eflags, 0x0000_0202 | tf, "TF stays the guest's; RF is cleared")
        XCTAssertEqual(r.debugStatus, 0xFFFF_4FF0, "BS set, the reserved bits as the guest reads them")
    }

    func testSingleStepMergesAsAHardwareDebugTrap() {
        // B0-B3 are replaced by the new #DB (none for a single step); BD and BS accumulate.
        XCTAssertEqual(EmulatedRetirement.after(eflags: tf, storedDR6: 0xFFFF_0FF1).debugStatus, 0xFFFF_4FF0)
        XCTAssertEqual(EmulatedRetirement.after(eflags: tf, storedDR6: 0xFFFF_2FF0).debugStatus, 0xFFFF_6FF0)
        XCTAssertEqual(EmulatedRetirement.after(eflags: tf, storedDR6: 0).debugStatus, 0xFFFF_4FF0,
                       "a stored value without its reserved bits reads back with them")
    }

    func testEveryEFLAGSValue() {
        // Property over EFLAGS: RF always cleared, nothing else changed, the #DB exactly when TF was set.
        var rng = SplitMix64(seed: 0xDB)
        for _ in 0..<10_000 {
            let eflags = UInt32(truncatingIfNeeded: rng.next())
            let dr6 = UInt32(truncatingIfNeeded: rng.next())
            let r = EmulatedRetirement.after(eflags: eflags, storedDR6: dr6)
            XCTAssertEqual(r.eflags, eflags & ~rf)
            XCTAssertEqual(r.debugStatus != nil, eflags & tf != 0)
            if let s = r.debugStatus {
                XCTAssertNotEqual(s & EmulatedRetirement.singleStepStatus, 0)
                XCTAssertEqual(s & DebugRegisterBits.dr6BreakpointMask, 0)
                XCTAssertEqual(s, SetDebugRegRequest.adjustedDR6(s), "reserved bits forced")
            }
        }
    }
}
