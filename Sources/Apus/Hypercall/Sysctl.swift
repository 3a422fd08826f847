// Sysctl.swift: sysctl (35) for dom0, acted on: readconsole (the hypervisor's log ring, for `dmesg`),
// physinfo (CPU and free memory) and perfc (transition counters for `make bench`). ApusCore's
// SysctlRequest decodes; this file only acts, writing to the ranges the decoder produced.

import ApusCore
import PVABI

enum SysctlHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let unwritable = HypercallOutcome.refused(.EFAULT, "xen_sysctl is not writable guest memory")
        switch SysctlRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.physInfo(let cpus, let khz, let total, let free)):
            let ok = memory.write32(1, to: cpus)
                && memory.write32(UInt32(truncatingIfNeeded: SystemTime.tscKHz), to: khz)
                && memory.write64(UInt64(Machine.summary.highestFrame), to: total)
                && memory.write64(UInt64(Machine.frames.freeCount), to: free)
            return ok ? .ok : unwritable
        case .success(.perfc(let traps, let loads, let allocations, let irq)):
            let ok = memory.write64(UInt64(truncatingIfNeeded: Counters.guestTraps), to: traps)
                && memory.write64(Counters.deviceIRQTSC, to: irq)
                && memory.write64(UInt64(truncatingIfNeeded: Counters.cr3Loads), to: loads)
                && memory.write64(UInt64(apus_heap_allocations()), to: allocations)
            return ok ? .ok : unwritable
        case .success(.readConsole(let index, let buffer, let countOut, let indexOut)):
            let (bytes, next) = Log.read(from: UInt64(index), max: Int(buffer.count))
            let copied = bytes.withUnsafeBytes { memory.write($0, to: buffer) }
            guard copied, memory.write32(UInt32(bytes.count), to: countOut),
                  memory.write32(UInt32(truncatingIfNeeded: next), to: indexOut) else {
                return .refused(.EFAULT, "the console buffer is not writable guest memory")
            }
            return .ok
        }
    }
}
