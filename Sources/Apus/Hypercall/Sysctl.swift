// Sysctl.swift: sysctl (35) for dom0: readconsole (the hypervisor's log ring, for `dmesg`) and
// physinfo (CPU and free memory, for `top` and the tests that show memory coming back).

import ApusCore
import PVABI

enum SysctlHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let va = a.a1
        guard let cmdWord = GuestMemory.read32(va + UInt32(SysctlLayout.cmdOffset)),
              let version = GuestMemory.read32(va + UInt32(SysctlLayout.interfaceVersionOffset)) else {
            return .refused(.EFAULT, "xen_sysctl is not readable guest memory")
        }
        guard version == DomctlVersion.apus else { return .refused(.EACCES, "sysctl interface version mismatch") }
        guard let command = SysctlCommand(rawValue: cmdWord) else { return .refused(.ENOSYS, "unknown sysctl command") }
        switch command {
        case .physInfo:
            var ok = GuestMemory.write32(va + UInt32(SysctlLayout.nrCPUsOffset), 1)
            ok = ok && GuestMemory.write32(va + UInt32(SysctlLayout.cpuKHzOffset), UInt32(truncatingIfNeeded: SystemTime.tscKHz))
            ok = ok && GuestMemory.write32(va + UInt32(SysctlLayout.totalPagesOffset), Machine.summary.highestFrame)
            ok = ok && GuestMemory.write32(va + UInt32(SysctlLayout.totalPagesOffset + 4), 0)
            ok = ok && GuestMemory.write32(va + UInt32(SysctlLayout.freePagesOffset), Machine.frames.freeCount)
            ok = ok && GuestMemory.write32(va + UInt32(SysctlLayout.freePagesOffset + 4), 0)
            return ok ? .ok : .refused(.EFAULT, "xen_sysctl is not writable guest memory")
        case .perfcOp:
            var ok = true
            for (offset, value) in [(SysctlLayout.guestTrapsOffset, Counters.guestTraps), (SysctlLayout.cr3LoadsOffset, Counters.cr3Loads)] {
                ok = ok && GuestMemory.write32(va + UInt32(offset), UInt32(truncatingIfNeeded: value))
                ok = ok && GuestMemory.write32(va + UInt32(offset + 4), UInt32(truncatingIfNeeded: value >> 32))
            }
            return ok ? .ok : .refused(.EFAULT, "xen_sysctl is not writable guest memory")
        case .readConsole:
            guard let index = GuestMemory.read32(va + UInt32(SysctlLayout.readIndexOffset)),
                  let buffer = GuestMemory.read32(va + UInt32(SysctlLayout.readBufferOffset)),
                  let count = GuestMemory.read32(va + UInt32(SysctlLayout.readCountOffset)) else {
                return .refused(.EFAULT, "xen_sysctl is not readable guest memory")
            }
            let (bytes, next) = Log.read(from: Int(index), max: Int(min(count, 4096)))
            guard GuestMemory.writeBytes(buffer, bytes),
                  GuestMemory.write32(va + UInt32(SysctlLayout.readCountOffset), UInt32(bytes.count)),
                  GuestMemory.write32(va + UInt32(SysctlLayout.readIndexOffset), UInt32(truncatingIfNeeded: next)) else {
                return .refused(.EFAULT, "the console buffer is not writable guest memory")
            }
            return .ok
        }
    }
}
