// IretInPlaceTests.swift: the iret applied inside the TrapFrame against IretRequest.decode (the reference
// model, itself pinned by TrapDecodeTests): random frames, stacks and guest memory, every ring returned
// to, every refusal. The registers decode gives must land in the frame and nothing else may change.

import XCTest
import PVABI
@testable import ApusCore

final class IretInPlaceTests: XCTestCase {
    private func randomFrame(_ rng: inout SplitMix64) -> TrapFrame {
        var f = TrapFrame()
        f.edi = rng.u32(); f.esi = rng.u32(); f.ebp = rng.u32(); f.espAtPushad = rng.u32()
        f.ebx = rng.u32(); f.edx = rng.u32(); f.ecx = rng.u32(); f.eax = rng.u32()
        f.gs = rng.u32(); f.fs = rng.u32(); f.es = rng.u32(); f.ds = rng.u32()
        f.vector = 0x82; f.errorCode = rng.u32()
        f.eip = rng.u32(); f.cs = 0xe019; f.eflags = rng.u32(); f.ss = rng.chance(80) ? 0xe021 : rng.u32()
        f.esp = switch rng.below(5) {
        case 0: GuestRange.limit &- UInt32(rng.below(48))          // at the hypervisor's edge
        case 1: 0xFFFF_FFFF &- UInt32(rng.below(32))               // wrapping
        case 2: UInt32(rng.below(64))
        default: (rng.u32() % GuestRange.limit) & ~3
        }
        return f
    }

    /// What may differ after a successful in-place iret: EAX, the error code slot (the guest's EAX
    /// passed through it), EIP, CS, EFLAGS, ESP and SS. Every other slot must be as it was.
    private func untouched(_ f: TrapFrame) -> [UInt32] {
        [f.edi, f.esi, f.ebp, f.espAtPushad, f.ebx, f.edx, f.ecx, f.gs, f.fs, f.es, f.ds, f.vector]
    }

    func testInPlaceIsTheReferenceDecode() {
        var rng = SplitMix64(seed: 0x1_2E7)
        var outcomes: [String: Int] = [:]
        for i in 0..<20_000 {
            let before = randomFrame(&rng)
            var memory = FakeGuestMemory(seed: UInt64(i))
            // Most cases hold a plausible frame: a handler's EIP, a CS of any ring, EFLAGS with and without IF.
            if rng.chance(70), before.esp <= 0xFFFF_FFFF - 24 {
                let eip = rng.chance(90) ? rng.u32() % GuestRange.limit : rng.u32()
                let cs = (rng.u32() & 0xFFFF_FFFC) | UInt32(rng.below(4))
                memory.place32([rng.u32(), eip, cs, rng.u32(), rng.u32(), rng.u32()], at: before.esp)
            }
            var reference = memory
            var applied = memory
            let expected = IretRequest.decode(esp: before.esp, ss: before.ss, &reference)
            var after = before
            let result = withUnsafeMutablePointer(to: &after) { IretInPlace.apply($0, &applied) }
            XCTAssertEqual(applied.copiesOut, 0, "an iret wrote guest memory")
            switch expected {
            case .success(let r):
                XCTAssertEqual(result.upcallMask, r.upcallMask, "case \(i)")
                XCTAssertNil(result.refusal)
                XCTAssertEqual([after.eax, after.eip, after.cs, after.eflags, after.esp, after.ss],
                               [r.eax, r.eip, r.cs, r.eflags, r.esp, r.ss], "case \(i): esp \(before.esp)")
                XCTAssertEqual(untouched(after), untouched(before), "case \(i)")
                outcomes["ring \(r.cs & 3)", default: 0] += 1
            case .failure(let refusal):
                XCTAssertNil(result.upcallMask, "case \(i)")
                XCTAssertEqual(result.refusal?.error, refusal.error, "case \(i)")
                XCTAssertEqual(result.refusal.map { "\($0.reason)" }, "\(refusal.reason)", "case \(i)")
                outcomes["\(refusal.reason)", default: 0] += 1
            }
        }
        // Every way out was taken, often.
        XCTAssertEqual(outcomes.count, 6, "\(outcomes)")
        for (what, n) in outcomes { XCTAssertGreaterThan(n, 50, what) }
    }

    func testTheExamplesOfTheDecoderTests() {
        var m = FakeGuestMemory.blank(seed: 5)
        m.place32([7, 0xC000_1000, 0xe019, 0x246], at: 0x9000)
        m.place32([1, 0x0804_8000, 0xe02b, 0x3046, 0xBFFF_0000, 0xe033], at: 0x9100)
        var f = TrapFrame()
        f.esp = 0x9000; f.ss = 0xe021; f.cs = 0xe019
        XCTAssertEqual(withUnsafeMutablePointer(to: &f) { IretInPlace.apply($0, &m) }, .eventsUnmasked)
        XCTAssertEqual([f.eax, f.eip, f.cs, f.eflags, f.esp, f.ss], [7, 0xC000_1000, 0xe019, 0x246, 0x9010, 0xe021])
        f.esp = 0x9100; f.ss = 0xe021
        XCTAssertEqual(withUnsafeMutablePointer(to: &f) { IretInPlace.apply($0, &m) }, .eventsMasked)
        XCTAssertEqual([f.eax, f.eip, f.cs, f.eflags, f.esp, f.ss], [1, 0x0804_8000, 0xe02b, 0x0246, 0xBFFF_0000, 0xe033])
        f.esp = 0xFFFF_FFF8
        XCTAssertEqual(withUnsafeMutablePointer(to: &f) { IretInPlace.apply($0, &m) }, .frameUnreadable)
    }
}
