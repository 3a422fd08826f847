// SysctlDecodeTests.swift: sysctl's decoder: physinfo's and perfc's OUT fields, readconsole's buffer
// bounded by the guest's count (at most 4096), each refusal, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class SysctlDecodeTests: XCTestCase {
    /// A 128-byte xen_sysctl at 0x2000 with `cmd`, `version` and payload words from offset 8.
    func memory(_ cmd: UInt32, version: UInt32 = DomctlVersion.apus, payload: [UInt32] = []) -> FakeGuestMemory {
        var m = FakeGuestMemory(seed: 35)
        m.mappedPercent = 0
        m.place32([cmd, version] + payload + Array(repeating: 0, count: 30 - payload.count), at: 0x2000)
        return m
    }

    func decode(_ m: inout FakeGuestMemory, at va: UInt32 = 0x2000) -> Decoded<SysctlRequest> {
        SysctlRequest.decode(HypercallArguments(va, 0, 0, 0, 0), &m)
    }

    func testPhysinfoAndPerfcNameTheirOutFields() {
        var m = memory(SysctlCommand.physInfo.rawValue)
        guard case .physInfo(let cpus, let khz, let total, let free, let scrub)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(scrub, GuestRange(0x2000 + UInt32(SysctlLayout.scrubPagesOffset), count: 8))
        XCTAssertEqual(cpus, GuestRange(0x2000 + UInt32(SysctlLayout.nrCPUsOffset), count: 4))
        XCTAssertEqual(khz, GuestRange(0x2000 + UInt32(SysctlLayout.cpuKHzOffset), count: 4))
        XCTAssertEqual(total, GuestRange(0x2000 + UInt32(SysctlLayout.totalPagesOffset), count: 8))
        XCTAssertEqual(free, GuestRange(0x2000 + UInt32(SysctlLayout.freePagesOffset), count: 8))
        var p = memory(SysctlCommand.perfcOp.rawValue)
        guard case .perfc(let traps, let loads, let allocations, let irq, let residents)? = accepted(decode(&p)) else { return XCTFail() }
        // heap_in_use @48, heap_size @56, domains @64, dying_domains @72: one 32-byte OUT range inside the struct.
        XCTAssertEqual(residents, GuestRange(0x2000 + 48, count: 32))
        XCTAssertEqual(SysctlLayout.dyingDomainsOffset + 8, 80)
        XCTAssertLessThanOrEqual(SysctlLayout.dyingDomainsOffset + 8, SysctlLayout.size)
        XCTAssertEqual(irq, GuestRange(0x2000 + UInt32(SysctlLayout.deviceIRQTSCOffset), count: 8))
        XCTAssertEqual(allocations, GuestRange(0x2000 + UInt32(SysctlLayout.heapAllocationsOffset), count: 8))
        XCTAssertEqual(traps, GuestRange(0x2000 + UInt32(SysctlLayout.guestTrapsOffset), count: 8))
        XCTAssertEqual(loads, GuestRange(0x2000 + UInt32(SysctlLayout.cr3LoadsOffset), count: 8))
    }

    func testReadconsoleBufferIsBoundedByTheCountAndBy4096() {
        var m = memory(SysctlCommand.readConsole.rawValue, payload: [17, 0x5000, 100])
        guard case .readConsole(let index, let buffer, let countOut, let indexOut)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(index, 17)
        XCTAssertEqual(buffer, GuestRange(0x5000, count: 100))
        XCTAssertEqual(countOut, GuestRange(0x2000 + UInt32(SysctlLayout.readCountOffset), count: 4))
        XCTAssertEqual(indexOut, GuestRange(0x2000 + UInt32(SysctlLayout.readIndexOffset), count: 4))
        var big = memory(SysctlCommand.readConsole.rawValue, payload: [0, 0x5000, 0xFFFF_FFFF])
        guard case .readConsole(_, let capped, _, _)? = accepted(decode(&big)) else { return XCTFail() }
        XCTAssertEqual(capped.count, SysctlRequest.maxReadConsole)
        var edge = memory(SysctlCommand.readConsole.rawValue, payload: [0, GuestRange.limit - 16, 17])
        assertRefused(decode(&edge), .EFAULT, "the console buffer is not writable guest memory")
        var wrap = memory(SysctlCommand.readConsole.rawValue, payload: [0, 0xFFFF_FFF8, 16])
        assertRefused(decode(&wrap), .EFAULT, "the console buffer is not writable guest memory")
    }

    /// Xen 4.17's interface version (0x15): physinfo's whole payload, readconsole with Xen's layout
    /// (clear, incremental, index, a 64-bit buffer handle, count), everything else -ENOSYS.
    func testXenInterfaceVersion() {
        var m = memory(SysctlCommand.physInfo.rawValue, version: XenInterfaceVersion.sysctl)
        guard case .xenPhysInfo(let out)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(out, GuestRange(0x2008, count: 112))
        // clear 1, incremental 1 | index 40 | buffer 0x5000, 0 | count 64
        m = memory(SysctlCommand.readConsole.rawValue, version: XenInterfaceVersion.sysctl, payload: [0x0101, 40, 0x5000, 0, 64])
        guard case .xenReadConsole(let index, let clear, let buffer, let countOut, let indexOut)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(index, 40)
        XCTAssertTrue(clear)
        XCTAssertEqual(buffer, GuestRange(0x5000, count: 64))
        XCTAssertEqual(countOut, GuestRange(0x2000 + 24, count: 4))
        XCTAssertEqual(indexOut, GuestRange(0x2000 + 12, count: 4))
        m = memory(SysctlCommand.readConsole.rawValue, version: XenInterfaceVersion.sysctl, payload: [0, 40, 0x5000, 0, 64])
        guard case .xenReadConsole(nil, false, _, _, _)? = accepted(decode(&m)) else { return XCTFail("not incremental: from the oldest byte") }
        m = memory(SysctlCommand.readConsole.rawValue, version: XenInterfaceVersion.sysctl, payload: [0x0100, 0, 0x5000, 1, 64])
        assertRefused(decode(&m), .EFAULT, "the console buffer is not writable guest memory")
        m = memory(SysctlCommand.perfcOp.rawValue, version: XenInterfaceVersion.sysctl)
        assertRefused(decode(&m), .ENOSYS, "this sysctl command is not implemented (Xen's interface version)")
        m = memory(SysctlCommand.physInfo.rawValue, version: 0x14)
        assertRefused(decode(&m), .EACCES, "sysctl interface version is neither Xen 4.17's nor Apus's")
    }

    func testRefusals() {
        var m = memory(SysctlCommand.physInfo.rawValue)
        for va: UInt32 in [0xFFFF_FFF8, GuestRange.limit - 127, 0x9000] {
            assertRefused(decode(&m, at: va), .EFAULT, "xen_sysctl is not readable guest memory")
        }
        var v = memory(SysctlCommand.physInfo.rawValue, version: DomctlVersion.apus + 1)
        assertRefused(decode(&v), .EACCES, "sysctl interface version is neither Xen 4.17's nor Apus's")
        var c = memory(2)
        assertRefused(decode(&c), .ENOSYS, "unknown sysctl command")
        XCTAssertEqual(m.copiesOut + v.copiesOut + c.copiesOut, 0)
    }

    func testFuzzed() {
        var rng = SplitMix64(seed: 0x35)
        let commands: [UInt32] = [1, 3, 7]
        let tally = DecoderFuzzing.run(seed: 35, firstArgument: { DecoderFuzzing.register(&$0) }) { a, m in
            overlaid(&m, { o in
                // One draw decides: mostly the right version and a real command, so the payload
                // paths are reached; sometimes a chosen buffer and count for readconsole.
                let bits = rng.next()
                if bits & 0xF != 0 { o.lay(bits & 0x3 == 0 ? XenInterfaceVersion.sysctl : DomctlVersion.apus, at: a.a1 &+ UInt32(SysctlLayout.interfaceVersionOffset)) }
                if bits & 0xF0 != 0 { o.lay(bits & 0x300 != 0 ? commands[Int(bits >> 10 & 0xFF) % commands.count] : UInt32(bits >> 10 & 0xF), at: a.a1) }
                if bits & 1 << 20 != 0 { o.lay(DecoderFuzzing.register(&rng), at: a.a1 &+ UInt32(SysctlLayout.readBufferOffset)) }
                if bits & 1 << 21 != 0 { o.lay(UInt32(truncatingIfNeeded: bits >> 32) >> (bits >> 22 & 31), at: a.a1 &+ UInt32(SysctlLayout.readCountOffset)) }
            }) { SysctlRequest.decode(a, &$0) }
        }
        for e in [XenError.EFAULT, .EACCES, .ENOSYS] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
