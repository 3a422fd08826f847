// SmpActiveShare.swift: the smp-guest domain's last phase (issue #16): after the all-spin phase
// (every vCPU spinning while dom0 measures), vCPUs 1-3 block (SCHEDOP_block, no event for them)
// while vCPU 0 alone spins on; dom0 then measures again and checks the domain still gets its
// whole weight's share (the weight is split among ACTIVE vCPUs, not online ones). vCPU 0 tells
// dom0 the three are blocked by one event on its own IPI port (dom0 sees the domain's
// events-sent counter move). It must never fake a result: it prints only what it saw.

import ApusCore
import GuestKit
import PVABI

enum SmpActiveShare {
    /// How long every vCPU spins first (system time), past the end of dom0's all-spin window.
    static let allSpinNs: UInt64 = 3_000_000_000
    /// Set by vCPU 0: vCPUs 1-3 block at their next spin.
    static var blockNow = false
    /// blocked[v] = 1 once vCPU v is about to block (one byte each: no read-modify-write shared).
    static var blocked: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    /// Times a blocked vCPU woke (it blocks again at once); 0 while nothing is sent to them.
    static var wakes: UInt32 = 0

    /// vCPU 0, once every vCPU spins: spins allSpinNs, has vCPUs 1-3 block, signals dom0, spins on.
    static func run() -> Never {
        let console = GuestConsole(xen)
        let start = GuestTime.now()
        while GuestTime.now() - start < allSpinNs { Smp.spin(0) }
        blockNow = true
        while blocked.1 == 0 || blocked.2 == 0 || blocked.3 == 0 { _ = xen.schedOp(.yield) }
        console.print("smp: vCPUs 1-3 blocked (SCHEDOP_block), vCPU 0 spins alone")
        _ = GuestEvents.send(Smp.ports[0])
        while true { Smp.spin(0) }
    }

    /// vCPU `vcpu` (1-3), from its spin loop once blockNow is set: blocks for good. Its upcall flag
    /// and selector are cleared before each block, so only a new event for it could wake it.
    static func block(_ vcpu: Int) -> Never {
        let si = StartOfDay.sharedInfo.base
        let info = SharedInfo.vcpuInfoOffset(vcpu: vcpu)
        switch vcpu {
        case 1: blocked.1 = 1
        case 2: blocked.2 = 1
        default: blocked.3 = 1
        }
        while true {
            si.storeBytes(of: 0, toByteOffset: info + VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
            _ = guest_xchg32(si.advanced(by: info + VcpuInfo.evtchnPendingSelOffset).assumingMemoryBound(to: UInt32.self), 0)
            _ = xen.schedOp(.block)
            wakes &+= 1
        }
    }
}
