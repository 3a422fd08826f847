// DebugRegisters.swift: the CPU's debug registers as the running domain's: its DR0-DR3 and DR7 are
// loaded when it is put on the CPU if its DR7 enables a breakpoint (DR7 cleared for one that enables
// none), and a #DB's DR6 is kept for the guest to read with get_debugreg. It must never load a value
// set_debugreg's decoder did not accept (no GD, no breakpoint address at or above the hypervisor).

import ApusCore
import PVABI

@_extern(c, "cpu_read_dr6") func cpu_read_dr6() -> UInt32
@_extern(c, "cpu_write_dr6") func cpu_write_dr6(_ value: UInt32)
@_extern(c, "cpu_write_dr7") func cpu_write_dr7(_ value: UInt32)
@_extern(c, "cpu_write_dr0") func cpu_write_dr0(_ value: UInt32)
@_extern(c, "cpu_write_dr1") func cpu_write_dr1(_ value: UInt32)
@_extern(c, "cpu_write_dr2") func cpu_write_dr2(_ value: UInt32)
@_extern(c, "cpu_write_dr3") func cpu_write_dr3(_ value: UInt32)

enum DebugRegisters {
    /// Whether the CPU's DR7 enables breakpoints now (so that a domain without any gets it cleared).
    private static var hardwareActive = false
    /// #DBs the hypervisor took on its own accesses to guest memory (a guest's data breakpoint).
    static var hypervisorHits: UInt32 = 0

    static func isActive(_ dr7: UInt32) -> Bool { dr7 & DebugRegisterBits.dr7ActiveMask != 0 }

    /// Puts `d`'s breakpoints on the CPU (Xen's activate_debugregs at a context switch), or clears
    /// DR7 when `d` enables none and the previous domain did.
    @inline(__always)
    static func switchTo(_ d: Domain) {
        if isActive(d.vcpu.debugControl) {
            writeAddresses(d)
            cpu_write_dr6(d.vcpu.debugStatus)
            cpu_write_dr7(d.vcpu.debugControl)
            hardwareActive = true
        } else if hardwareActive {
            cpu_write_dr7(0)
            hardwareActive = false
        }
    }

    /// A set_debugreg by the running domain takes effect at once, as on Xen.
    static func applyAddress(_ d: Domain, index: Int) {
        guard Domains.isRunning(d) else { return }
        switch index {
        case 0: cpu_write_dr0(d.vcpu.debugAddresses[0])
        case 1: cpu_write_dr1(d.vcpu.debugAddresses[1])
        case 2: cpu_write_dr2(d.vcpu.debugAddresses[2])
        default: cpu_write_dr3(d.vcpu.debugAddresses[3])
        }
    }

    static func applyStatus(_ d: Domain) {
        guard Domains.isRunning(d) else { return }
        cpu_write_dr6(d.vcpu.debugStatus)
    }

    static func applyControl(_ d: Domain) {
        guard Domains.isRunning(d) else { return }
        switchTo(d)
    }

    /// A #DB from the guest: its DR6 is merged into the guest's copy (what get_debugreg(6) shows and
    /// its handler reads) and the CPU's is reset, before the trap is bounced as any other.
    static func guestTrap(_ d: Domain) {
        let hardware = cpu_read_dr6()
        cpu_write_dr6(DebugRegisterBits.dr6Default)
        d.vcpu.debugStatus = SetDebugRegRequest.mergedDR6(stored: d.vcpu.debugStatus, hardware: hardware)
    }

    /// A #DB in ring 0: a guest's data breakpoint matched the hypervisor's own access to guest memory
    /// (its breakpoints can name nothing else, and GD is refused), a trap after the access. As Xen,
    /// it is noted and the hypervisor continues; the guest's DR6 is left as it was.
    /// A single step cannot reach ring 0 (every gate into it clears TF); should one, TF is dropped.
    static func hypervisorTrap(_ frame: UnsafeMutablePointer<TrapFrame>) {
        let dr6 = cpu_read_dr6()
        cpu_write_dr6(DebugRegisterBits.dr6Default)
        frame.pointee.eflags &= ~trapFlag
        hypervisorHits &+= 1
        if hypervisorHits <= 4 {
            Log.info("#DB in the hypervisor at eip \(hex8: frame.pointee.eip), dr6 \(hex8: dr6): a guest's data breakpoint on memory the hypervisor touched; continuing")
        }
    }

    private static let trapFlag: UInt32 = 1 << 8

    private static func writeAddresses(_ d: Domain) {
        cpu_write_dr0(d.vcpu.debugAddresses[0])
        cpu_write_dr1(d.vcpu.debugAddresses[1])
        cpu_write_dr2(d.vcpu.debugAddresses[2])
        cpu_write_dr3(d.vcpu.debugAddresses[3])
    }
}
