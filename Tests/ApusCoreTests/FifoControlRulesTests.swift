// FifoControlRulesTests.swift: init_control, expand_array and set_priority: the decoder's fields and every
// refusal of FifoControlRules with its errno and reason, in Xen's order.

import XCTest
import PVABI
@testable import ApusCore

final class FifoControlRulesTests: XCTestCase {
    func refusal(_ r: Refusal?) -> String? { r.map { "-\($0.error.name): \($0.reason)" } }

    func testInitControlRefusalsInXensOrder() {
        let fresh = FifoSetup()
        func check(_ s: FifoSetup = FifoSetup(), vcpu: UInt32 = 0, offset: UInt32 = 0, frame: FifoFrameCheck = .ownWritableRAM) -> String? {
            refusal(FifoControlRules.initControl(s, vcpu: vcpu, vcpus: 2, offset: offset, frame: frame))
        }
        XCTAssertNil(check())
        XCTAssertNil(check(vcpu: 1, offset: 4096 - 72), "the last offset that fits, 8-aligned")
        XCTAssertEqual(check(vcpu: 2, offset: 3), "-ENOENT: init_control: no such VCPU")
        XCTAssertEqual(check(offset: 4096 - 64), "-EINVAL: init_control: the control block would cross the end of its frame")
        XCTAssertEqual(check(offset: 0xFFFF_FFF8), "-EINVAL: init_control: the control block would cross the end of its frame")
        XCTAssertEqual(check(offset: 4), "-EINVAL: init_control: the control block offset is not 8-byte aligned")
        XCTAssertEqual(check(frame: .notOwnRAM), "-EINVAL: init_control: the control frame is not the domain's own RAM")
        XCTAssertEqual(check(frame: .notWritable), "-EINVAL: init_control: the control frame is not writable by the domain (a typed page)")
        var fifo = fresh
        fifo.abi = .fifo
        fifo.controlBlocks = 1
        XCTAssertEqual(check(fifo, frame: .notOwnRAM), "-EINVAL: init_control: the VCPU already has a control block")
        XCTAssertNil(check(fifo, vcpu: 1), "a further VCPU's block once FIFO")
        XCTAssertTrue(fifo.hasControlBlock(vcpu: 0))
        XCTAssertFalse(fifo.hasControlBlock(vcpu: 1))
        XCTAssertFalse(fifo.hasControlBlock(vcpu: 200))
    }

    func testExpandArrayRefusals() {
        var s = FifoSetup()
        XCTAssertEqual(refusal(FifoControlRules.expandArray(s, portLimit: 1024, frame: .ownWritableRAM)),
                       "-EOPNOTSUPP: expand_array: the domain has not switched to the FIFO ABI")
        s.abi = .fifo
        XCTAssertNil(FifoControlRules.expandArray(s, portLimit: 1024, frame: .ownWritableRAM))
        XCTAssertEqual(refusal(FifoControlRules.expandArray(s, portLimit: 1024, frame: .notOwnRAM)),
                       "-EINVAL: expand_array: the array frame is not the domain's own RAM")
        XCTAssertEqual(refusal(FifoControlRules.expandArray(s, portLimit: 1024, frame: .notWritable)),
                       "-EINVAL: expand_array: the array frame is not writable by the domain (a typed page)")
        s.arrayPages = 1
        XCTAssertEqual(refusal(FifoControlRules.expandArray(s, portLimit: 1024, frame: .ownWritableRAM)),
                       "-ENOSPC: expand_array: the event array already covers every port")
        XCTAssertNil(FifoControlRules.expandArray(s, portLimit: 1025, frame: .ownWritableRAM))
        XCTAssertEqual(FifoControlRules.maxArrayPages(portLimit: 1 << 20), EvtchnFifo.maxArrayPages)
        XCTAssertEqual(FifoControlRules.maxArrayPages(portLimit: 0), 0)
    }

    func testSetPriorityRefusals() {
        var s = FifoSetup()
        XCTAssertEqual(refusal(FifoControlRules.setPriority(s, port: 1024, priority: 0, portLimit: 1024)), "-EINVAL: set_priority: the port is out of range")
        XCTAssertEqual(refusal(FifoControlRules.setPriority(s, port: 3, priority: 0, portLimit: 1024)), "-ENOSYS: set_priority: the 2-level ABI has no priorities")
        s.abi = .fifo
        XCTAssertNil(FifoControlRules.setPriority(s, port: 3, priority: 15, portLimit: 1024))
        XCTAssertEqual(refusal(FifoControlRules.setPriority(s, port: 3, priority: 16, portLimit: 1024)), "-EINVAL: set_priority: priorities run from 0 to 15")
    }

    func testTheDecoderReadsEachStructAndRefusesUnreadableOnes() {
        var m = FakeGuestMemory.blank(seed: 11)
        m.place32([0x1234, 0x1, 0x40, 1, 0xFFFF_FFFF, 0], at: 0x2000)
        guard case .initControl(let gfn, let offset, let vcpu, let out)? = accepted(FifoEventRequest.decode(.initControl, 0x2000, &m)) else { return XCTFail() }
        XCTAssertEqual(gfn, 0x1_0000_1234)
        XCTAssertEqual([offset, vcpu], [0x40, 1])
        XCTAssertEqual(out, GuestRange(0x2010, count: 1))
        m.place32([0x55, 0], at: 0x2100)
        XCTAssertEqual(accepted(FifoEventRequest.decode(.expandArray, 0x2100, &m)), .expandArray(arrayGFN: 0x55))
        m.place32([9, 3], at: 0x2200)
        XCTAssertEqual(accepted(FifoEventRequest.decode(.setPriority, 0x2200, &m)), .setPriority(port: 9, priority: 3))
        for op in [EventChannelOp.initControl, .expandArray, .setPriority] {
            assertRefused(FifoEventRequest.decode(op, 0x9000, &m), .EFAULT, "event channel argument is not readable guest memory")
            assertRefused(FifoEventRequest.decode(op, 0x2FFC, &m), .EFAULT, "event channel argument is not readable guest memory")
        }
        assertRefused(FifoEventRequest.decode(.send, 0x2000, &m), .ENOSYS, "not a FIFO event-channel command")
    }

    /// What a writable type reference answered, as the rules' frame check: taken is own writable RAM,
    /// a frame that is not the domain's is notOwnRAM, a type conflict notWritable; a gfn above 32 bits
    /// is never offered to the frame table.
    func testFrameCheckFromTheTypeReference() {
        XCTAssertEqual(FifoFrameCheck.of(gfn: 5) { _ in nil }, .ownWritableRAM)
        for e in [MemoryError.frameBeyondMemory, .frameNotOwned, .foreignFrame, .hypervisorFrame] {
            XCTAssertEqual(FifoFrameCheck.of(gfn: 5) { _ in e }, .notOwnRAM)
        }
        for e in [MemoryError.pageTableMappedWritable, .frameMappedWritable] {
            XCTAssertEqual(FifoFrameCheck.of(gfn: 5) { _ in e }, .notWritable)
        }
        var probed: [UInt32] = []
        XCTAssertEqual(FifoFrameCheck.of(gfn: 1 << 32) { probed.append($0); return nil }, .notOwnRAM)
        XCTAssertEqual(FifoFrameCheck.of(gfn: 0xFFFF_FFFF) { probed.append($0); return nil }, .ownWritableRAM)
        XCTAssertEqual(probed, [0xFFFF_FFFF])
    }
}
