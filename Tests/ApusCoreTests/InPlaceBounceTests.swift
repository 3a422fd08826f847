// InPlaceBounceTests.swift: the bounce frame built inside the TrapFrame against BounceFrame.words (the
// reference model, itself pinned to Xen's frames by BounceFrameTests), and its placement against place().
// Random contexts, every ring, with and without an error code; a mismatch names its seed's case.

import XCTest
import PVABI
@testable import ApusCore

final class InPlaceBounceTests: XCTestCase {
    private func randomFrame(_ rng: inout SplitMix64) -> TrapFrame {
        var f = TrapFrame()
        f.edi = rng.u32(); f.esi = rng.u32(); f.ebp = rng.u32(); f.espAtPushad = rng.u32()
        f.ebx = rng.u32(); f.edx = rng.u32(); f.ecx = rng.u32(); f.eax = rng.u32()
        f.gs = rng.u32(); f.fs = rng.u32(); f.es = rng.u32(); f.ds = rng.u32()
        f.vector = rng.u32() & 0xFF; f.errorCode = rng.u32()
        f.eip = rng.chance(10) ? 0xFFFF_FFFF &- (rng.u32() & 3) : rng.u32()
        f.cs = rng.u32() & ~3 | UInt32(rng.below(4))
        f.eflags = rng.u32(); f.esp = rng.u32(); f.ss = rng.u32()
        return f
    }

    private func words(of frame: TrapFrame, offset: Int, count: UInt32) -> [UInt32] {
        var copy = frame
        return withUnsafeBytes(of: &copy) { raw in
            stride(from: offset, to: offset + Int(count), by: 4).map { raw.loadUnaligned(fromByteOffset: $0, as: UInt32.self) }
        }
    }

    func testTheFrameInPlaceIsTheReferenceFrame() {
        var rng = SplitMix64(seed: 0xB0_0CE)
        var seen = Set<UInt32>()
        for _ in 0..<20_000 {
            let before = randomFrame(&rng)
            let hasError = rng.chance(50)
            let advance: UInt32 = rng.chance(50) ? 0 : TrapBounce.softwareInterruptLength
            let mask: UInt8 = rng.chance(50) ? 0 : UInt8(truncatingIfNeeded: rng.next() | 1)
            var after = before
            let slots = InPlaceBounce.build(&after, hasErrorCode: hasError, eipAdvance: advance, savedUpcallMask: mask)
            let reference = BounceFrame.words(eip: before.eip &+ advance, cs: before.cs & 0xFFFF, eflags: before.eflags,
                                              errorCode: hasError ? before.errorCode : nil, interruptedRing: before.ring,
                                              interruptedESP: before.esp, interruptedSS: before.ss, savedUpcallMask: mask)
            XCTAssertEqual(Int(slots.count), reference.count * 4)
            XCTAssertEqual(words(of: after, offset: slots.offset, count: slots.count), reference.array,
                           "ring \(before.ring) error \(hasError) mask \(mask)")
            // Nothing below the frame changes: the registers and selectors go back to the guest as they were.
            XCTAssertEqual(words(of: after, offset: 0, count: 52), words(of: before, offset: 0, count: 52))
            XCTAssertEqual(after.ring, before.ring)
            // The trap path reads the context back from the slots after the copy: the CS slot keeps
            // the ring, and the EFLAGS slot gives the handler the flags the interrupted EFLAGS give.
            XCTAssertEqual(BounceFrame.switchesStack(interruptedRing: after.ring), BounceFrame.switchesStack(interruptedRing: before.ring))
            XCTAssertEqual(BounceFrame.handlerEFLAGS(interrupted: after.eflags), BounceFrame.handlerEFLAGS(interrupted: before.eflags))
            XCTAssertEqual(BounceFrame.savedUpcallMask(csSlot: after.cs), mask)
            seen.insert(slots.count)
        }
        XCTAssertEqual(seen, [12, 16, 20, 24])
    }

    func testPlacementAgreesWithPlace() {
        var rng = SplitMix64(seed: 0x5_7ACC)
        for _ in 0..<20_000 {
            let top: UInt32 = switch rng.below(4) {
            case 0: UInt32(rng.below(32))
            case 1: GuestRange.limit &+ UInt32(rng.below(48)) &- 24
            case 2: 0xFFFF_FFFF &- UInt32(rng.below(32))
            default: rng.u32()
            }
            let count = UInt32(rng.pick([12, 16, 20, 24]))
            var reference = FrameWords()
            for w in 0..<UInt32(count / 4) { reference.append(w) }
            XCTAssertEqual(InPlaceBounce.place(count: count, below: top), BounceFrame.place(reference, below: top),
                           "top \(top) count \(count)")
        }
        XCTAssertNil(InPlaceBounce.place(count: 12, below: 8))
        XCTAssertNil(InPlaceBounce.place(count: 12, below: GuestRange.limit &+ 4))
        XCTAssertEqual(InPlaceBounce.place(count: 12, below: GuestRange.limit)?.start, GuestRange.limit - 12)
    }

    func testOffsetsAreTheTrapFrameFields() {
        XCTAssertEqual(MemoryLayout<TrapFrame>.offset(of: \TrapFrame.errorCode), InPlaceBounce.errorCodeOffset)
        XCTAssertEqual(MemoryLayout<TrapFrame>.offset(of: \TrapFrame.eip), InPlaceBounce.eipOffset)
        XCTAssertEqual(MemoryLayout<TrapFrame>.offset(of: \TrapFrame.esp), InPlaceBounce.eflagsEnd)
        XCTAssertEqual(MemoryLayout<TrapFrame>.size, InPlaceBounce.ssEnd)
    }
}
