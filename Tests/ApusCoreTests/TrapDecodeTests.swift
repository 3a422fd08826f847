// TrapDecodeTests.swift: the trap and callback decoders (set_trap_table, set_callbacks, callback_op,
// stack_switch) and iret: every refusal with its errno and reason, an accepted case each, and fuzzing.

import XCTest
import PVABI
@testable import ApusCore

final class TrapDecodeTests: XCTestCase {
    func memory() -> FakeGuestMemory { .blank(seed: 5) }

    func testTrapTableReadsUpToTheTerminator() {
        var m = memory()
        m.place32([0xe019_000e, 0xC000_1000, 0xe019_0303, 0xC000_2000, 0, 0], at: 0x4000)
        var t = TrapTableRequest()
        XCTAssertNil(t.decode(list: 0x4000, &m))
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t[1].address, 0xC000_2000)
        XCTAssertFalse(t.clears)
        XCTAssertNil(t.decode(list: 0, &m))
        XCTAssertTrue(t.clears)
        XCTAssertEqual(t.count, 0)
    }

    func testTrapTableRefusals() {
        var m = memory()
        var t = TrapTableRequest()
        XCTAssertEqual(t.decode(list: 0xFFFF_FFF8, &m)?.error, .EFAULT)
        XCTAssertEqual(t.decode(list: 0xF57F_FFFC, &m)?.error, .EFAULT)
        // A list whose terminator would lie past the top of the address space.
        m.place32([0xe019_0e0e, 0xC000_0000], at: 0xF57F_FFF8)
        XCTAssertEqual("\(t.decode(list: 0xF57F_FFF8, &m)!.reason)", "trap table is not readable guest memory")
        m.place32([0xe019_000e, 0xF580_0000, 0, 0], at: 0x4000)
        XCTAssertEqual("\(t.decode(list: 0x4000, &m)!.reason)", "trap handler address lies in the hypervisor area")
        m.place32([0xE008_000e, 0xC000_0000, 0, 0], at: 0x4000)
        XCTAssertEqual("\(t.decode(list: 0x4000, &m)!.reason)", "trap handler code selector is not the guest's")
        m.place32([UInt32](repeating: 0xe019_000e, count: 600).enumerated().map { $0.offset % 2 == 0 ? $0.element : 0xC000_0000 }, at: 0x8000)
        XCTAssertEqual("\(t.decode(list: 0x8000, &m)!.reason)", "trap table has more than 256 entries before its terminator")
        // 257 entries and then the terminator: one too many.
        var over = [UInt32]()
        for v in 0..<257 { over += [0xe019_0000 | UInt32(v & 0xFF), 0xC000_0000 + UInt32(v) * 16] }
        m.place32(over + [0, 0], at: 0x8000)
        XCTAssertEqual("\(t.decode(list: 0x8000, &m)!.reason)", "trap table has more than 256 entries before its terminator")
    }

    func testAFullTableOfAll256VectorsAndItsTerminator() {
        // Linux's: an entry for every vector, handlers at __KERNEL_CS (0x60, RPL 0: raised to 1).
        var m = memory()
        var words = [UInt32]()
        for v in 0..<256 { words += [0x0060_0000 | UInt32(v), 0xC100_0000 + UInt32(v) * 16] }
        m.place32(words + [0, 0], at: 0x8000)
        var t = TrapTableRequest()
        XCTAssertNil(t.decode(list: 0x8000, &m))
        XCTAssertEqual(t.count, 256)
        XCTAssertEqual(t[255].vector, 255)
        XCTAssertEqual(t[255].address, 0xC100_0FF0)
        XCTAssertEqual(t[0].cs, 0x61, "RPL 0 raised to 1")
    }

    func testCallbacks() {
        XCTAssertEqual(try SetCallbacksRequest.decode(HypercallArguments(0xe019, 0xC000_0000, 0xe018, 0xC000_0100, 0)).get(),
                       SetCallbacksRequest(event: GuestEntryPoint(cs: 0xe019, eip: 0xC000_0000), failsafe: GuestEntryPoint(cs: 0xe019, eip: 0xC000_0100)))
        XCTAssertEqual(refusal(SetCallbacksRequest.decode(HypercallArguments(0x10008, 0, 0xe019, 0, 0)))?.0, .EINVAL)
        XCTAssertEqual(refusal(SetCallbacksRequest.decode(HypercallArguments(0xe019, 0, 0xe019, 0xFFFF_FFF8, 0)))?.1, "callback address lies in the hypervisor area")
        XCTAssertEqual(refusal(SetCallbacksRequest.decode(HypercallArguments(0xe019, 0xFFFF_0000, 0x1_0000, 0, 0)))?.1, "callback code selector is not the guest's")
    }

    func testCallbackOp() {
        var m = memory()
        m.place32([UInt32(CallbackType.nmi.rawValue), 0xe019, 0xC000_0040], at: 0x4000)
        let register = CallbackOpRequest.decode(HypercallArguments(CallbackOp.register.rawValue, 0x4000, 0, 0, 0), &m)
        XCTAssertEqual(try register.get(), .register(.nmi, GuestEntryPoint(cs: 0xe019, eip: 0xC000_0040)))
        XCTAssertEqual(try CallbackOpRequest.decode(HypercallArguments(1, 0x4000, 0, 0, 0), &m).get(), .unregister(.nmi))
        m.place32([UInt32(CallbackType.failsafe.rawValue)], at: 0x4100)
        XCTAssertEqual(refusal(CallbackOpRequest.decode(HypercallArguments(1, 0x4100, 0, 0, 0), &m))?.1, "the event and failsafe callbacks cannot be unregistered")
        m.place32([77], at: 0x4200)
        XCTAssertEqual(refusal(CallbackOpRequest.decode(HypercallArguments(0, 0x4200, 0, 0, 0), &m))?.1, "unknown callback type")
        XCTAssertEqual(refusal(CallbackOpRequest.decode(HypercallArguments(0, 0xFFFF_FFF8, 0, 0, 0), &m))?.0, .EFAULT)
        XCTAssertEqual(refusal(CallbackOpRequest.decode(HypercallArguments(1, 0xFFFF_FFFE, 0, 0, 0), &m))?.0, .EFAULT)
        XCTAssertEqual(refusal(CallbackOpRequest.decode(HypercallArguments(2, 0x4000, 0, 0, 0), &m))?.0, .ENOSYS)
    }

    func testStackSwitch() {
        func decoded(_ ss: UInt32, _ esp: UInt32) -> StackSwitchRequest? { try? StackSwitchRequest.decode(HypercallArguments(ss, esp, 0, 0, 0)).get() }
        XCTAssertEqual(decoded(0xe021, 0xC000_0000), StackSwitchRequest(ss: 0xe021, esp: 0xC000_0000))
        // 32-bit Linux passes __KERNEL_DS with RPL 0: Xen's fixup_guest_stack_selector makes it RPL 1.
        XCTAssertEqual(decoded(0x68, 0xC180_0000), StackSwitchRequest(ss: 0x69, esp: 0xC180_0000))
        XCTAssertEqual(decoded(0xE408, 0), StackSwitchRequest(ss: 0xE409, esp: 0))
        XCTAssertEqual(decoded(0, 0), StackSwitchRequest(ss: 1, esp: 0))
        // RPL 1 to 3 are kept; only the low 16 bits of the register count (TSS.ss1).
        XCTAssertEqual(decoded(0x6B, 0x1000), StackSwitchRequest(ss: 0x6B, esp: 0x1000))
        XCTAssertEqual(decoded(0x1_0068, 0x1000), StackSwitchRequest(ss: 0x69, esp: 0x1000))
        // Xen refuses nothing here: a stack in the hypervisor area fails when a bounce first uses it.
        XCTAssertEqual(decoded(0xe021, 0xF580_0001), StackSwitchRequest(ss: 0xe021, esp: 0xF580_0001))
    }

    func testIret() {
        var m = memory()
        m.place32([7, 0xC000_1000, 0xe019, 0x246], at: 0x9000)
        XCTAssertEqual(try IretRequest.decode(esp: 0x9000, ss: 0xe021, &m).get(),
                       IretRequest(eax: 7, eip: 0xC000_1000, cs: 0xe019, eflags: 0x246, esp: 0x9010, ss: 0xe021, upcallMask: 0))
        m.place32([1, 0x0804_8000, 0xe02b, 0x3046, 0xBFFF_0000, 0xe033], at: 0x9100)
        XCTAssertEqual(try IretRequest.decode(esp: 0x9100, ss: 0xe021, &m).get(),
                       IretRequest(eax: 1, eip: 0x0804_8000, cs: 0xe02b, eflags: 0x0246, esp: 0xBFFF_0000, ss: 0xe033, upcallMask: 1))
        XCTAssertEqual(refusal(IretRequest.decode(esp: 0xFFFF_FFF8, ss: 0, &m))?.1, "iret frame on the guest stack is not readable")
        m.place32([1, 0x0804_8000, 0xe02b, 0x3046], at: 0xF57F_FFF0)
        XCTAssertEqual(refusal(IretRequest.decode(esp: 0xF57F_FFF0, ss: 0, &m))?.1, "iret frame to ring 3 is not readable")
        m.place32([1, 0xF680_0000, 0xe019, 0], at: 0x9200)
        XCTAssertEqual(refusal(IretRequest.decode(esp: 0x9200, ss: 0, &m))?.1, "iret to an address in the hypervisor area")
    }

    func testFuzzedTrapTable() {
        var table = TrapTableRequest()
        _ = DecoderFuzzing.run(seed: 0) { a, m in table.decode(list: a.a1, &m)?.error.rawValue }
    }

    func testFuzzedCallbacks() {
        _ = DecoderFuzzing.run(seed: 4) { a, _ in errno(SetCallbacksRequest.decode(a)) }
        _ = DecoderFuzzing.run(seed: 30, firstArgument: { $0.below(UInt32(3)) }) { a, m in errno(CallbackOpRequest.decode(a, &m)) }
    }

    func testFuzzedStackSwitch() {
        _ = DecoderFuzzing.run(seed: 3) { a, _ in errno(StackSwitchRequest.decode(a)) }
    }

    func testFuzzedIret() {
        _ = DecoderFuzzing.run(seed: 23) { a, m in errno(IretRequest.decode(esp: a.a1, ss: a.a2, &m)) }
    }
}
