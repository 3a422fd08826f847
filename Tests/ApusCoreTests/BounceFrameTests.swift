// Tests of the exception bounce frame and the trap delivery decision, against frames written out by hand from Xen's x86_32 create_bounce_frame.
// Expected words are literals; the tests never rebuild a frame with the code under test.

import XCTest
import PVABI
@testable import ApusCore

final class BounceFrameTests: XCTestCase {
    private let ifBit: UInt32 = 0x200

    // MARK: frames

    func testRingOneWithoutErrorCodeStaysOnTheInterruptedStack() {
        let words = BounceFrame.words(
            eip: 0xC010_1234, cs: 0xe019, eflags: 0x0000_0246, errorCode: nil,
            interruptedRing: 1, interruptedESP: 0xC03F_FF00, interruptedSS: 0xe021, savedUpcallMask: 0)
        // EIP, CS (mask 0), EFLAGS with IF = events were unmasked; no SS:ESP within ring 1.
        XCTAssertEqual(words, [0xC010_1234, 0x0000_e019, 0x0000_0246])
        XCTAssertFalse(BounceFrame.switchesStack(interruptedRing: 1))
        let stack = BounceFrame.stack(
            interruptedRing: 1, interruptedESP: 0xC03F_FF00, interruptedSS: 0xe021, kernelSS: 0xe021, kernelESP: 0xC050_0000)
        XCTAssertEqual(stack.ss, 0xe021)
        XCTAssertEqual(stack.esp, 0xC03F_FF00)
        XCTAssertEqual(BounceFrame.newStackPointer(kernelESP: stack.esp, count: words.count), 0xC03F_FEF4)
    }

    func testRingOnePageFaultPutsTheErrorCodeLowest() {
        let words = BounceFrame.words(
            eip: 0xC010_0000, cs: 0xe019, eflags: 0x0000_0202, errorCode: 0x0000_0002,
            interruptedRing: 1, interruptedESP: 0xC03F_FF00, interruptedSS: 0xe021, savedUpcallMask: 0)
        XCTAssertEqual(words, [0x0000_0002, 0xC010_0000, 0x0000_e019, 0x0000_0202])
        XCTAssertEqual(BounceFrame.newStackPointer(kernelESP: 0xC03F_FF00, count: words.count), 0xC03F_FEF0)
    }

    func testRingThreeSwitchesToTheKernelStackAndSavesSSAndESP() {
        let words = BounceFrame.words(
            eip: 0x0804_8010, cs: 0xe02b, eflags: 0x0000_0202, errorCode: 0x0000_0006,
            interruptedRing: 3, interruptedESP: 0xBFFF_F000, interruptedSS: 0xe033, savedUpcallMask: 0)
        XCTAssertEqual(words, [0x0000_0006, 0x0804_8010, 0x0000_e02b, 0x0000_0202, 0xBFFF_F000, 0x0000_e033])
        XCTAssertTrue(BounceFrame.switchesStack(interruptedRing: 3))
        XCTAssertTrue(BounceFrame.switchesStack(interruptedRing: 2))
        let stack = BounceFrame.stack(
            interruptedRing: 3, interruptedESP: 0xBFFF_F000, interruptedSS: 0xe033, kernelSS: 0xe021, kernelESP: 0xC050_0000)
        XCTAssertEqual(stack.ss, 0xe021)
        XCTAssertEqual(stack.esp, 0xC050_0000)
        XCTAssertEqual(BounceFrame.newStackPointer(kernelESP: stack.esp, count: words.count), 0xC04F_FFE8)

        let noError = BounceFrame.words(
            eip: 0x0804_8010, cs: 0xe02b, eflags: 0x0000_0202, errorCode: nil,
            interruptedRing: 3, interruptedESP: 0xBFFF_F000, interruptedSS: 0xe033, savedUpcallMask: 0)
        XCTAssertEqual(noError, [0x0804_8010, 0x0000_e02b, 0x0000_0202, 0xBFFF_F000, 0x0000_e033])
    }

    func testSavedMaskGoesInCSBitsSixteenToTwentyThreeAndClearsIF() {
        // Events were masked when the trap hit: mask 1 in the CS slot, IF clear in the EFLAGS slot,
        // even though the real EFLAGS had IF set.
        let masked = BounceFrame.words(
            eip: 0xC010_0000, cs: 0xe019, eflags: 0x0000_0246, errorCode: nil,
            interruptedRing: 1, interruptedESP: 0xC03F_FF00, interruptedSS: 0xe021, savedUpcallMask: 1)
        XCTAssertEqual(masked, [0xC010_0000, 0x0001_e019, 0x0000_0046])
        // Any non-zero mask byte counts as masked and is kept whole.
        let odd = BounceFrame.words(
            eip: 0, cs: 0xe019, eflags: 0x0000_0002, errorCode: nil,
            interruptedRing: 1, interruptedESP: 0, interruptedSS: 0xe021, savedUpcallMask: 0xFF)
        XCTAssertEqual(odd[1], 0x00FF_e019)
        XCTAssertEqual(odd[2] & ifBit, 0)
        // Unmasked with the real IF clear in the saved EFLAGS (cannot happen in a guest, but IF is virtual).
        XCTAssertEqual(BounceFrame.eflagsSlot(eflags: 0x0000_0002, savedUpcallMask: 0), 0x0000_0202)
        // High bits of CS are not the selector's.
        XCTAssertEqual(BounceFrame.csSlot(cs: 0xDEAD_e019, savedUpcallMask: 0), 0x0000_e019)
    }

    func testFailsafeFramePutsDataSelectorsBelow() {
        let ring1 = BounceFrame.failsafeWords(
            eip: 0xC010_0000, cs: 0xe019, eflags: 0x0000_0202,
            interruptedRing: 1, interruptedESP: 0xC03F_FF00, interruptedSS: 0xe021, savedUpcallMask: 0,
            ds: 0x007b, es: 0x007b, fs: 0x00d8, gs: 0x0033)
        XCTAssertEqual(ring1, [0x007b, 0x007b, 0x00d8, 0x0033, 0xC010_0000, 0x0000_e019, 0x0000_0202])
        let ring3 = BounceFrame.failsafeWords(
            eip: 0x0804_8000, cs: 0xe02b, eflags: 0x0000_0202,
            interruptedRing: 3, interruptedESP: 0xBFFF_F000, interruptedSS: 0xe033, savedUpcallMask: 1,
            ds: 0xFFFF_0001, es: 0x2, fs: 0x3, gs: 0x4)
        XCTAssertEqual(ring3, [0x0001, 0x2, 0x3, 0x4, 0x0804_8000, 0x0001_e02b, 0x0000_0002, 0xBFFF_F000, 0xe033])
        XCTAssertEqual(BounceFrame.newStackPointer(kernelESP: 0xC050_0000, count: ring3.count), 0xC04F_FFDC)
    }

    func testHandlerEntryFlagsAndMask() {
        // TF, NT, RF and VM cleared; IF and the always-one bit set; others kept.
        XCTAssertEqual(BounceFrame.handlerEFLAGS(interrupted: 0x0003_4346), 0x0000_0246)
        XCTAssertEqual(BounceFrame.handlerEFLAGS(interrupted: 0x0000_0000), 0x0000_0202)
        XCTAssertEqual(BounceFrame.upcallMaskOnEntry(saved: 0, masksEvents: true), 1)
        XCTAssertEqual(BounceFrame.upcallMaskOnEntry(saved: 0, masksEvents: false), 0)
        XCTAssertEqual(BounceFrame.upcallMaskOnEntry(saved: 1, masksEvents: false), 1)
        XCTAssertEqual(BounceFrame.newStackPointer(kernelESP: 0x8, count: 3), 0xFFFF_FFFC)
    }

    // MARK: decisions

    /// A guest IDT with handlers for #DB (1), #GP (13), #PF (14, masks events), int 0x80 (DPL 3)
    /// and a ring-1-only vector 0x81.
    private func linuxLikeTable(_ vector: UInt8) -> TrapInfo {
        switch vector {
        case 1: return TrapInfo(vector: 1, flags: 0, cs: 0xe019, address: 0xC010_0100)
        case 13: return TrapInfo(vector: 13, flags: 0, cs: 0xe019, address: 0xC010_0D00)
        case 14: return TrapInfo(vector: 14, flags: 4, cs: 0xe019, address: 0xC010_0E00)
        case 0x80: return TrapInfo(vector: 0x80, flags: 3, cs: 0xe019, address: 0xC010_8000)
        case 0x81: return TrapInfo(vector: 0x81, flags: 1, cs: 0xe019, address: 0xC010_8100)
        default: return .empty(vector: vector)
        }
    }

    func testExceptionsAreBouncedToRegisteredHandlers() {
        XCTAssertEqual(
            TrapBounce.decide(vector: 14, errorCode: 0x7, interruptedRing: 3, trapTable: linuxLikeTable),
            .bounce(vector: 14, errorCode: 0x7))
        XCTAssertEqual(
            TrapBounce.decide(vector: 1, errorCode: nil, interruptedRing: 1, trapTable: linuxLikeTable),
            .bounce(vector: 1, errorCode: nil))
        // A hardware #GP (no IDT bit) goes to the #GP handler as is.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x0, interruptedRing: 3, trapTable: linuxLikeTable),
            .bounce(vector: 13, errorCode: 0x0))
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0xe008, interruptedRing: 1, trapTable: linuxLikeTable),
            .bounce(vector: 13, errorCode: 0xe008))
        // #GP with IDT and EXT both set: an external event, not an `int n`.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x403, interruptedRing: 3, trapTable: linuxLikeTable),
            .bounce(vector: 13, errorCode: 0x403))
    }

    func testIntEightyFromRingThreeWithDPLThreeIsASoftwareInterrupt() {
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: (0x80 << 3) | 2, interruptedRing: 3, trapTable: linuxLikeTable),
            .softwareInterrupt(vector: 0x80))
        // The kernel may use it too.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x402, interruptedRing: 1, trapTable: linuxLikeTable),
            .softwareInterrupt(vector: 0x80))
    }

    func testRingOneOnlyVectorFromRingOneAndRingThree() {
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x40A, interruptedRing: 1, trapTable: linuxLikeTable),
            .softwareInterrupt(vector: 0x81))
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x40A, interruptedRing: 3, trapTable: linuxLikeTable),
            .generalProtection(errorCode: 0x40A))
    }

    func testIntEightyTwoFromRingThreeWithoutADPLThreeEntryIsGP() {
        // 0x82 is the hypercall vector; the guest registered nothing for it.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x412, interruptedRing: 3, trapTable: linuxLikeTable),
            .generalProtection(errorCode: 0x412))
        // Same from a DPL-0 entry with a handler: int n into a fault vector is refused.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: (14 << 3) | 2, interruptedRing: 3, trapTable: linuxLikeTable),
            .generalProtection(errorCode: 0x72))
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: (14 << 3) | 2, interruptedRing: 1, trapTable: linuxLikeTable),
            .generalProtection(errorCode: 0x72))
    }

    func testMissingHandlersCrashTheDomain() {
        let empty: (UInt8) -> TrapInfo = { .empty(vector: $0) }
        XCTAssertEqual(
            TrapBounce.decide(vector: 14, errorCode: 0, interruptedRing: 1, trapTable: empty),
            .noHandler(vector: 14))
        XCTAssertEqual(
            TrapBounce.decide(vector: 6, errorCode: nil, interruptedRing: 1, trapTable: linuxLikeTable),
            .noHandler(vector: 6))
        // A refused `int n` with no #GP handler to receive it.
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x412, interruptedRing: 3, trapTable: empty),
            .noHandler(vector: 13))
        // A permitted `int n` (DPL 3) whose entry has no handler.
        let dplOnly: (UInt8) -> TrapInfo = { TrapInfo(vector: $0, flags: 3, cs: 0xe019, address: 0) }
        XCTAssertEqual(
            TrapBounce.decide(vector: 13, errorCode: 0x402, interruptedRing: 3, trapTable: dplOnly),
            .noHandler(vector: 0x80))
    }

    /// The trap path bounces every vector but #GP from its own entry without calling decide: the
    /// two must agree for every vector, error code, ring and table (random entries, half empty).
    func testEveryVectorButGPIsDecidedByItsEntryAlone() {
        var rng = SplitMix64(seed: 0xDEC1DE)
        var sorts = Set<String>()
        for _ in 0..<20_000 {
            let vector = UInt8(rng.below(32))
            let pushes = ExceptionVector.pushesErrorCode(UInt32(vector))
            let error: UInt32? = pushes ? (rng.chance(50) ? rng.u32() : (rng.u32() << 3) | 2) : nil
            let ring = UInt32(1 + rng.below(3))
            var table = [TrapInfo]()
            for v in 0..<256 {
                table.append(rng.chance(50) ? .empty(vector: UInt8(v))
                             : TrapInfo(vector: UInt8(v), flags: UInt8(rng.below(8)), cs: 0xe019, address: rng.u32() | 1))
            }
            let decided = TrapBounce.decide(vector: vector, errorCode: error, interruptedRing: ring) { table[Int($0)] }
            guard TrapBounce.isDecidedByItsEntry(vector) else {
                XCTAssertEqual(vector, TrapBounce.generalProtectionVector)
                continue
            }
            let byEntry: TrapBounceDecision = table[Int(vector)].hasHandler ? .bounce(vector: vector, errorCode: error) : .noHandler(vector: vector)
            XCTAssertEqual(decided, byEntry, "vector \(vector) error \(String(describing: error)) ring \(ring)")
            sorts.insert("\(byEntry)".components(separatedBy: "(")[0])
        }
        XCTAssertEqual(sorts, ["bounce", "noHandler"])
        XCTAssertFalse(TrapBounce.isDecidedByItsEntry(13))
    }
}
