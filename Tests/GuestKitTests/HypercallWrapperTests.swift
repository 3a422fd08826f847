// HypercallWrapperTests.swift: every wrapper in GuestKit/Hypercalls.swift passes Xen's hypercall
// number and argument order (pv32pae: ebx, ecx, edx, esi, edi), checked against a fake transport
// that records each call. Numbers are written out from xen/include/public, not taken from PVABI.

import XCTest
import PVABI
@testable import GuestKit

/// Records every call and answers `result`.
private final class RecordingTransport: HypercallTransport {
    struct Call: Equatable {
        var number: UInt32
        var args: [UInt32]
    }
    var calls: [Call] = []
    var result: Int32 = 0

    func call(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32 {
        calls.append(Call(number: number, args: [a1, a2, a3, a4, a5]))
        return result
    }
}

final class HypercallWrapperTests: XCTestCase {
    private var transport = RecordingTransport()
    private var xen: Xen<RecordingTransport> { Xen(transport) }

    override func setUp() { transport = RecordingTransport() }

    private func assertLastCall(_ number: UInt32, _ args: [UInt32], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(transport.calls.count, 1, "exactly one call", file: file, line: line)
        XCTAssertEqual(transport.calls.last, RecordingTransport.Call(number: number, args: args + [UInt32](repeating: 0, count: 5 - args.count)),
                       file: file, line: line)
        transport.calls.removeAll()
    }

    func testConsoleIOIsCommandCountBuffer() {
        _ = xen.consoleWrite(0xC010_0000, 42)
        assertLastCall(18, [0, 42, 0xC010_0000])          // CONSOLEIO_write
        _ = xen.consoleRead(0xC020_0000, 16)
        assertLastCall(18, [1, 16, 0xC020_0000])          // CONSOLEIO_read
    }

    func testUpdateVAMappingSplitsThePTELowThenHigh() {
        _ = xen.updateVAMapping(0xC040_0000, 0x0000_0001_2345_6067, flags: UpdateVAFlags.invalidatePage)
        assertLastCall(14, [0xC040_0000, 0x2345_6067, 0x0000_0001, 2])
        _ = xen.updateVAMapping(0xC040_1000, 0x8000_0000_0000_0000, flags: UpdateVAFlags.tlbFlush)
        assertLastCall(14, [0xC040_1000, 0, 0x8000_0000, 1])
        _ = xen.updateVAMapping(0xC040_2000, 0, flags: UpdateVAFlags.none)
        assertLastCall(14, [0xC040_2000, 0, 0, 0])             // UVMF_NONE is 0 on the wire
    }

    func testUpdateDescriptorIsMachineAddressThenDescriptorEachLowThenHigh() {
        _ = xen.updateDescriptor(machineAddress: 0x0000_0002_0030_1008, descriptor: 0x00CF_BA00_0000_FFFF)
        assertLastCall(10, [0x0030_1008, 0x0000_0002, 0x0000_FFFF, 0x00CF_BA00])
    }

    func testSetCallbacksIsEventCSEIPThenFailsafeCSEIP() {
        _ = xen.setCallbacks(eventCS: 0xE019, eventEIP: 0xC000_1000, failsafeCS: 0xE01A, failsafeEIP: 0xC000_2000)
        assertLastCall(4, [0xE019, 0xC000_1000, 0xE01A, 0xC000_2000])
    }

    func testVcpuOpIsCommandVcpuArgument() {
        _ = xen.vcpuOp(.isUp, vcpu: 2, 0xC000_3000)
        assertLastCall(24, [3, 2, 0xC000_3000])
        _ = xen.vcpuOp(.up, vcpu: 1)
        assertLastCall(24, [1, 1, 0])
    }

    func testMulticallIsListThenCount() {
        _ = xen.multicall(0xC000_4000, count: 7)
        assertLastCall(13, [0xC000_4000, 7])
    }

    func testSchedOpIsCommandThenArgument() {
        _ = xen.schedOp(.shutdown, 0xC000_5000)
        assertLastCall(29, [2, 0xC000_5000])
        _ = xen.schedOp(.yield)
        assertLastCall(29, [0, 0])
        _ = xen.schedOp(.block)
        assertLastCall(29, [1, 0])
    }

    func testStackSwitchIsSSThenESP() {
        _ = xen.stackSwitch(ss: 0xE021, esp: 0xC000_6FFC)
        assertLastCall(3, [0xE021, 0xC000_6FFC])
    }

    func testTheRemainingWrappers() {
        _ = xen.setTrapTable(0xC000_7000)
        assertLastCall(0, [0xC000_7000])
        _ = xen.setGDT(frameList: 0xC000_8000, entries: 16)
        assertLastCall(2, [0xC000_8000, 16])
        _ = xen.fpuTaskswitch(true)
        assertLastCall(5, [1])
        _ = xen.fpuTaskswitch(false)
        assertLastCall(5, [0])
        _ = xen.xenVersion(.version)
        assertLastCall(17, [0, 0])
        _ = xen.xenVersion(.getFeatures, 0xC000_9000)
        assertLastCall(17, [6, 0xC000_9000])
        _ = xen.vmAssist(0, 2)                              // enable writable_pagetables
        assertLastCall(21, [0, 2])
        _ = xen.callbackOp(.register, 0xC000_A000)
        assertLastCall(30, [0, 0xC000_A000])
        _ = xen.callbackOp(.unregister, 0xC000_B000)
        assertLastCall(30, [1, 0xC000_B000])
        _ = xen.raw(0xFFFF, 1, 2, 3)
        assertLastCall(0xFFFF, [1, 2, 3])
    }

    func testTheTransportsAnswerIsReturnedUnchanged() {
        transport.result = -38                               // -ENOSYS
        XCTAssertEqual(xen.raw(99), -38)
        transport.result = 5
        XCTAssertEqual(xen.consoleRead(0x1000, 5), 5)
        transport.result = -14
        XCTAssertEqual(xen.updateVAMapping(0, 0, flags: 0), -14)
    }
}
