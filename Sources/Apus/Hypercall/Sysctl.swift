// Sysctl.swift: sysctl (35) for dom0, acted on: readconsole (the hypervisor's log ring, for `dmesg`),
// physinfo (CPU, free memory and how much of it awaits scrubbing) and perfc (transition counters for
// `make bench`, and the resident counters a leak check compares: heap in use, domains, dying ones). ApusCore's
// SysctlRequest decodes; this file only acts, writing to the ranges the decoder produced.

import ApusCore
import PVABI

enum SysctlHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let unwritable = HypercallOutcome.refused(.EFAULT, "xen_sysctl is not writable guest memory")
        switch SysctlRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.physInfo(let cpus, let khz, let total, let free, let scrub)):
            let ok = memory.write32(1, to: cpus)
                && memory.write32(UInt32(truncatingIfNeeded: SystemTime.tscKHz), to: khz)
                && memory.write64(UInt64(Machine.summary.highestFrame), to: total)
                && memory.write64(UInt64(Machine.frames.freeCount), to: free)
                && memory.write64(UInt64(Machine.frames.dirtyCount), to: scrub)
            return ok ? .ok : unwritable
        case .success(.perfc(let traps, let loads, let allocations, let irq, let residents)):
            let ok = memory.write64(UInt64(truncatingIfNeeded: Counters.guestTraps), to: traps)
                && memory.write64(Counters.deviceIRQTSC, to: irq)
                && memory.write64(UInt64(truncatingIfNeeded: Counters.cr3Loads), to: loads)
                && memory.write64(UInt64(apus_heap_allocations()), to: allocations)
                && memory.write(residentCounters(), to: residents)
            return ok ? .ok : unwritable
        case .success(.readConsole(let index, let buffer, let countOut, let indexOut)):
            let (bytes, next) = Log.read(from: UInt64(index), max: Int(buffer.count))
            let copied = bytes.withUnsafeBytes { memory.write($0, to: buffer) }
            guard copied, memory.write32(UInt32(bytes.count), to: countOut),
                  memory.write32(UInt32(truncatingIfNeeded: next), to: indexOut) else {
                return .refused(.EFAULT, "the console buffer is not writable guest memory")
            }
            return .ok
        case .success(.xenPhysInfo(let out)):
            return memory.write(xenPhysInfo(), to: out) ? .ok : unwritable
        case .success(.xenReadConsole(let index, let clear, let buffer, let countOut, let indexOut)):
            let (bytes, next) = Log.read(from: index.map { UInt64($0) } ?? clearedUpTo, max: Int(buffer.count))
            let copied = bytes.withUnsafeBytes { memory.write($0, to: buffer) }
            guard copied, memory.write32(UInt32(bytes.count), to: countOut),
                  memory.write32(UInt32(truncatingIfNeeded: next), to: indexOut) else {
                return .refused(.EFAULT, "the console buffer is not writable guest memory")
            }
            if clear { clearedUpTo = next }
            return .ok
        }
    }

    /// perfc's heap_in_use, heap_size, domains and dying_domains (SysctlLayout, from heapInUseOffset).
    static func residentCounters() -> GuestBytes<32> {
        var b = GuestBytes<32>(count: 32)
        b.set64(SysctlLayout.heapInUseOffset - SysctlLayout.heapInUseOffset, UInt64(apus_heap_in_use()))
        b.set64(SysctlLayout.heapSizeOffset - SysctlLayout.heapInUseOffset, UInt64(apus_heap_size()))
        b.set64(SysctlLayout.domainsOffset - SysctlLayout.heapInUseOffset, UInt64(Domains.all.count))
        b.set64(SysctlLayout.dyingDomainsOffset - SysctlLayout.heapInUseOffset, UInt64(Grants.system.dyingTables))
        return b
    }

    /// Where a non-incremental Xen readconsole starts: what the last `clear` left (0: the oldest byte kept).
    static var clearedUpTo: UInt64 = 0

    /// xen_sysctl_physinfo (Xen 4.17's layout, from offset 8): one CPU, one node, PV only.
    static func xenPhysInfo() -> GuestBytes<112> {
        var b = GuestBytes<112>(count: XenPhysinfoLayout.payloadSize)
        func put32(_ offset: Int, _ v: UInt32) { b.set32(offset - XenPhysinfoLayout.payloadOffset, v) }
        func put64(_ offset: Int, _ v: UInt64) { b.set64(offset - XenPhysinfoLayout.payloadOffset, v) }
        put32(XenPhysinfoLayout.threadsPerCoreOffset, 1)
        put32(XenPhysinfoLayout.coresPerSocketOffset, 1)
        put32(XenPhysinfoLayout.nrCPUsOffset, 1)
        put32(XenPhysinfoLayout.nrNodesOffset, 1)
        put32(XenPhysinfoLayout.cpuKHzOffset, UInt32(truncatingIfNeeded: SystemTime.tscKHz))
        put32(XenPhysinfoLayout.capabilitiesOffset, XenPhysinfoLayout.capabilityPV)
        put64(XenPhysinfoLayout.totalPagesOffset, UInt64(Machine.summary.highestFrame))
        put64(XenPhysinfoLayout.freePagesOffset, UInt64(Machine.frames.freeCount))
        put64(XenPhysinfoLayout.scrubPagesOffset, UInt64(Machine.frames.dirtyCount))
        put64(XenPhysinfoLayout.maxMFNOffset, UInt64(Machine.summary.highestFrame))
        return b
    }
}
