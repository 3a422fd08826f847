// VcpuContextDecodeTests.swift: VCPUOP_initialise's vcpu_guest_context (x86_32, 2800 bytes) decoded:
// registers, ring-1 fixups, trap table, stack, cr3 and callbacks; every refusal with its errno; and
// the rules (GDT within set_gdt's bound, no initial LDT; any cr3 and GDT frames: the paging core
// decides those, VcpuBaseTests).

import XCTest
import PVABI
@testable import ApusCore

final class VcpuContextDecodeTests: XCTestCase {
    typealias L = VcpuGuestContextLayout
    typealias R = CpuUserRegsLayout

    func context(_ edit: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var c = [UInt8](repeating: 0, count: L.size)
        func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { c[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        let r = L.userRegsOffset
        put32(r + R.eip, 0x0010_2000)
        put32(r + R.cs, 0xE019)
        put32(r + R.ss, 0xE021)
        put32(r + R.ds, 0xE021)
        put32(r + R.esp, 0x0020_0000)
        put32(r + R.eflags, 0x3202)            // IOPL 3 asked for: dropped
        put32(r + R.ebx, 7)
        let t = L.trapCtxtOffset + 14 * TrapInfoLayout.size
        c[t] = 14
        put32(t + TrapInfoLayout.csOffset, 0xE018)      // RPL 0: given ring 1
        put32(t + TrapInfoLayout.addressOffset, 0x0010_3000)
        put32(L.kernelSSOffset, 0xE020)
        put32(L.kernelSPOffset, 0x0030_0000)
        put32(L.ctrlregOffset + 12, L.cr3(ofFrame: 0x0123_4567))
        put32(L.eventCallbackCSOffset, 0xE019)
        put32(L.eventCallbackEIPOffset, 0x0010_4000)
        put32(L.failsafeCallbackCSOffset, 0xE019)
        put32(L.failsafeCallbackEIPOffset, 0x0010_5000)
        edit(&c)
        return c
    }

    func decode(_ c: [UInt8]) -> Decoded<VcpuContext> { c.withUnsafeBytes { VcpuContextDecode.decode($0) } }

    func set32(_ c: inout [UInt8], _ o: Int, _ v: UInt32) { for i in 0..<4 { c[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }

    func testLayoutIsXensX86_32() {
        XCTAssertEqual(L.size, 2800)
        XCTAssertEqual(L.userRegsOffset + R.size, L.trapCtxtOffset)
        XCTAssertEqual(L.trapCtxtOffset + 256 * 8, L.ldtBaseOffset)
        XCTAssertEqual(L.gdtFramesOffset + 16 * 4, L.gdtEntsOffset)
        XCTAssertEqual(L.debugregOffset + 8 * 4, L.eventCallbackCSOffset)
        XCTAssertEqual(L.vmAssistOffset + 4, L.size)
        // xen_pfn_to_cr3 / xen_cr3_to_pfn on x86_32: frames above 2^20 rotate into the low 12 bits.
        XCTAssertEqual(L.cr3(ofFrame: 0x12345), 0x1234_5000)
        XCTAssertEqual(L.cr3(ofFrame: 0x0123_4567), 0x3456_7012)
        for f: UInt32 in [0, 1, 0xFFFFF, 0x0100_0000, 0xFFFF_FFFF] { XCTAssertEqual(L.frame(ofCR3: L.cr3(ofFrame: f)), f) }
    }

    func testAcceptedContext() {
        guard let c = accepted(decode(context())) else { return XCTFail() }
        XCTAssertEqual(c.frame.eip, 0x0010_2000)
        XCTAssertEqual(c.frame.cs, 0xE019)
        XCTAssertEqual(c.frame.ss, 0xE021)
        XCTAssertEqual(c.frame.ds, 0xE021)
        XCTAssertEqual(c.frame.esp, 0x0020_0000)
        XCTAssertEqual(c.frame.ebx, 7)
        XCTAssertEqual(c.frame.eflags, 0x0202, "IOPL dropped, IF set")
        XCTAssertEqual(c.traps.count, 1)
        XCTAssertEqual(c.traps.first, TrapInfo(vector: 14, flags: 0, cs: 0xE019, address: 0x0010_3000))
        XCTAssertEqual(c.kernelSS, 0xE021, "RPL 0 given ring 1")
        XCTAssertEqual(c.kernelSP, 0x0030_0000)
        XCTAssertEqual(c.l3Frame, 0x0123_4567)
        XCTAssertEqual(c.eventEIP, 0x0010_4000)
        XCTAssertEqual(c.failsafeEIP, 0x0010_5000)
        XCTAssertNil(VcpuContextRules.refusal(c))
    }

    func testRefusals() {
        let r = L.userRegsOffset
        assertRefused(decode([UInt8](repeating: 0, count: 100)), .EFAULT, "vcpu_guest_context is shorter than its 2800 bytes")
        assertRefused(decode(context { self.set32(&$0, L.flagsOffset, VcpuGuestContextFlags.i387Valid) }), .EINVAL,
                      "initialise: an initial FPU state (VGCF_i387_valid) is not supported; a vCPU starts from the reset state")
        assertRefused(decode(context { self.set32(&$0, r + R.eip, 0xF580_0000) }), .EINVAL, "initialise: the start address lies in the hypervisor area")
        assertRefused(decode(context { self.set32(&$0, L.trapCtxtOffset + 3 * 8 + 4, 0xFC00_0000) }), .EINVAL, "initialise: a trap handler in the hypervisor area")
        assertRefused(decode(context { self.set32(&$0, L.gdtEntsOffset, 16 * 512 + 1) }), .EINVAL, "initialise: the GDT reaches the hypervisor's reserved GDT entries")
        assertRefused(decode(context { self.set32(&$0, L.gdtEntsOffset, UInt32(SetGDTRequest.maxEntries) + 1) }), .EINVAL,
                      "initialise: the GDT reaches the hypervisor's reserved GDT entries")
        assertRefused(decode(context { self.set32(&$0, L.debugregOffset + 7 * 4, 0x400) }), .EINVAL, "initialise: debug registers in an initial context are not supported")
        assertRefused(decode(context { self.set32(&$0, L.eventCallbackEIPOffset, 0xFFFF_0000) }), .EINVAL, "initialise: a callback in the hypervisor area")
    }

    func testRules() {
        // Any cr3 and GDT frames pass the rules (not only the caller's current ones, as before): the
        // paging core takes or refuses them (FrameTable.takeVCPUTables).
        guard let c = accepted(decode(context())) else { return XCTFail() }
        XCTAssertNil(VcpuContextRules.refusal(c))
        let most = UInt32(SetGDTRequest.maxEntries)
        guard let g = accepted(decode(context { self.set32(&$0, L.gdtEntsOffset, most); self.set32(&$0, L.gdtFramesOffset, 0x777) })) else { return XCTFail() }
        XCTAssertEqual(g.gdtFrames.count, 14, "7168 entries: 14 frames")
        XCTAssertEqual(g.gdtFrames.first, 0x777)
        XCTAssertNil(VcpuContextRules.refusal(g))
        guard let one = accepted(decode(context { self.set32(&$0, L.gdtEntsOffset, 1) })) else { return XCTFail() }
        XCTAssertEqual(one.gdtFrames, [0], "one entry: one frame")
        guard let l = accepted(decode(context { self.set32(&$0, L.ldtEntsOffset, 4) })) else { return XCTFail() }
        XCTAssertEqual(VcpuContextRules.refusal(l)?.error, .EINVAL)
    }

    /// Any 2800 bytes: decoded or refused, never a trap; an accepted context never starts in the
    /// hypervisor area or ring 0.
    func testRandomContextsNeverTrap() {
        var rng = SplitMix64(seed: 2800)
        for _ in 0..<300 {
            var c = context()
            for _ in 0..<40 { c[Int.random(in: 0..<c.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if case .success(let v) = decode(c) {
                XCTAssertLessThan(v.frame.eip, XenLayout.hypervisorVirtStart)
                XCTAssertNotEqual(v.frame.cs & 3, 0)
                XCTAssertEqual(v.frame.eflags & IretRequest.forbiddenFlags, 0)
            }
        }
    }
}
