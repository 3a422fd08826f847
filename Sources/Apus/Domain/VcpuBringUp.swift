// VcpuBringUp.swift: VCPUOP_initialise, up and down acted on. Initialise copies the guest's
// vcpu_guest_context in (one checked range), ApusCore decodes it and decides whether this domain
// can start a vCPU with it (VcpuContextDecode, VcpuContextRules), and the paging core takes its own
// top-level table (ctrlreg[3]) and GDT frames (takeVCPUTables, as Xen's arch_set_info_guest); only
// then is the vCPU given its registers, address space, GDT, trap table, stack and callbacks. Up puts
// an initialised vCPU in the scheduler (the domain's weight shared among its active vCPUs); down takes
// it out, keeping its context and base for the next up, as Xen. It never runs a vCPU itself.

import ApusCore
import PVABI

enum VcpuBringUp {
    static func initialise(_ d: Domain, _ v: VCPU, _ range: GuestRange, _ memory: inout RunningGuestMemory) -> HypercallOutcome {
        guard !v.initialised else { return .refused(.EEXIST, "initialise: the vCPU was already initialised") }
        guard let bytes = memory.readArray(range) else { return .refused(.EFAULT, "vcpu_guest_context is not readable guest memory") }
        let context: VcpuContext
        switch bytes.withUnsafeBytes({ VcpuContextDecode.decode($0) }) {
        case .failure(let refusal): return refusal.outcome
        case .success(let c): context = c
        }
        if let refusal = VcpuContextRules.refusal(context) { return refusal.outcome }
        if let refusal = Machine.frames.takeVCPUTables(gdtFrames: context.gdtFrames, l3: context.l3Frame, vcpu: Int(v.id),
                                                       state: &d.memory, memory: &Machine.memory) {
            if let why = refusal.memoryError {
                Log.info("d\(d.id): initialise of vCPU \(v.id) (cr3 frame \(hex: context.l3Frame), \(UInt32(context.gdtFrames.count)) GDT frames) refused: \(why.reason)")
            }
            return .refused(refusal.error, refusal.reason)
        }
        // Its own address space (its PDPT copy of that L3) and GDT, loaded when it first runs.
        AddressSpaces.loadPDPT(d, v)
        v.gdtFrames = context.gdtFrames
        v.gdtEntries = Int(context.gdtEntries)
        v.saved = context.frame
        for vector in 0..<256 { v.trapTable[vector] = TrapInfo.empty(vector: UInt8(vector)) }
        for t in context.traps { v.trapTable[Int(t.vector)] = t }
        v.kernelSS = context.kernelSS
        v.kernelESP = context.kernelSP
        v.eventCallback = GuestCallback(cs: context.eventCS, eip: context.eventEIP)
        v.failsafeCallback = GuestCallback(cs: context.failsafeCS, eip: context.failsafeEIP)
        v.initialised = true
        // Its int 0x80 route from its own trap table and GDT (refresh decides for the domain's current vCPU).
        d.actingFor(v) { SystemCallGate.refresh(d) }
        if Domains.isRunning(d) { SystemCallGate.load(d) }
        Log.info("d\(d.id): vCPU \(v.id) initialised at \(hex: context.frame.cs):\(hex8: context.frame.eip), stack \(hex8: context.frame.esp), its own L3 at frame \(hex: v.l3MFN), GDT of \(UInt32(v.gdtEntries)) entries")
        return .ok
    }

    static func up(_ d: Domain, _ v: VCPU) -> HypercallOutcome {
        guard v.initialised else { return .refused(.EINVAL, "up: the vCPU was never initialised") }
        guard v.runState == .down else { return .ok }
        v.runState = .runnable
        guard Scheduler.addVCPU(d, v) else {
            v.runState = .down
            return .refused(.ENOMEM, "up: the scheduler has no entity left for another vCPU (256 in the system)")
        }
        v.runstateEntry = SystemTime.nanoseconds()
        if !d.paused { Scheduler.preemptRequested = true }
        Log.info("d\(d.id): vCPU \(v.id) up (\(d.onlineVCPUs) online, \(Scheduler.activeVCPUs(d)) active sharing weight \(d.weight))")
        return .ok
    }

    /// As Xen: the vCPU stops (at once when it downs itself: the exit sees it cannot run). As Xen 4.17's
    /// do_vcpu_op, first: when no other vCPU is up, the domain shuts down (poweroff) and this vCPU is
    /// left as it was (not marked down), the answer 0.
    static func down(_ d: Domain, _ v: VCPU) -> HypercallOutcome {
        var othersUp = 0
        for other in d.vcpus where other !== v && other.runState != .down { othersUp += 1 }
        if othersUp == 0 {
            Log.info("d\(d.id): down of vCPU \(v.id), the last one up: the domain shuts down (poweroff), as Xen")
            DomainLife.save(d, result: 0)
            DomainLife.stop(d, .shutdown(.poweroff))
            return .ok
        }
        guard v.runState != .down else { return .ok }
        Runstates.account(v, now: SystemTime.nanoseconds())
        v.runState = .down
        v.timerDeadline = 0
        v.periodicNext = 0
        Scheduler.removeVCPU(d, v)
        Log.info("d\(d.id): vCPU \(v.id) down (\(d.onlineVCPUs) online, \(Scheduler.activeVCPUs(d)) active sharing weight \(d.weight))")
        return .ok
    }
}
