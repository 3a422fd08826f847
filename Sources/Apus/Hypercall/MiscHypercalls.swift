// MiscHypercalls.swift: vm_assist (21), vcpu_op (24) for the one vCPU each domain has (is_up,
// get_runstate_info, the runstate and time areas, singleshot timers) and set_timer_op (15), acted on. ApusCore decodes each
// (VMAssistRequest, VcpuOpRequest, SetTimerOpRequest); this file only acts, on ranges it was given.

import ApusCore
import PVABI

enum MiscHypercalls {
    static func vmAssist(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch VMAssistRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.enable(let type)): d.vmAssist |= type.bit
        case .success(.disable(let type)): d.vmAssist &= ~type.bit
        }
        return .ok
    }

    static func vcpuOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch VcpuOpRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.noSuchVCPU):
            return .answer(.ENOENT)
        case .success(.isUp):
            return .value(1)
        case .success(.getRunstateInfo(let out)):
            Runstates.account(d, now: SystemTime.nanoseconds())
            return memory.write(Runstates.info(d), to: out) ? .ok : .refused(.EFAULT, "vcpu_runstate_info is not writable guest memory")
        case .success(.registerRunstateArea(let area)):
            // As Xen: remembered, and filled in at once (then each time the vCPU is put on the CPU).
            d.vcpu.runstateArea = area
            guard let area else { return .ok }
            Runstates.account(d, now: SystemTime.nanoseconds())
            return RunstateAreaUpdate.write(Runstates.info(d), to: area, flagged: d.vmAssist & VMAssistType.runstateUpdateFlag.bit != 0, &memory)
                ? .ok : .refused(.EFAULT, "the runstate area is not writable guest memory")
        case .success(.registerTimeArea(let area)):
            // As Xen: remembered, then filled in at once (force_update_vcpu_system_time) and at every
            // later update of the time record.
            d.vcpu.timeArea = area
            SystemTime.publish(d)
            return .ok
        case .success(.stopPeriodicTimer):
            return .ok
        case .success(.setSingleshotTimer(let deadline, let future)):
            // VCPU_SSHOTTMR_future and a deadline already past: -ETIME, an ordinary answer (the
            // guest asked to be told), so not logged as a refusal.
            if future && deadline < SystemTime.nanoseconds() { return .answer(.ETIME) }
            d.timerDeadline = max(deadline, 1)
            return .ok
        case .success(.registerVcpuInfo(let mfn, let offset)):
            return VcpuInfoPlacement.register(d, mfn: mfn, offset: offset)
        case .success(.stopSingleshotTimer):
            d.timerDeadline = 0
            return .ok
        }
    }
}

/// Time spent by a vCPU in each runstate (running, runnable, blocked, offline).
enum Runstates {
    static func account(_ d: Domain, now: UInt64) {
        let state = d.state == .blocked ? 2 : 0
        let since = d.vcpu.runstateEntry
        if now > since { d.vcpu.runstateTime[state] &+= now - since }
        d.vcpu.runstateEntry = now
    }

    /// The vCPU's vcpu_runstate_info as of its last accounting.
    static func info(_ d: Domain) -> GuestBytes<44> {
        var info = GuestBytes<44>(count: VcpuRunstateInfoLayout.size)
        let state: Runstate = d.state == .blocked ? .blocked : .running
        info.set32(VcpuRunstateInfoLayout.stateOffset, UInt32(bitPattern: state.rawValue))
        info.set64(VcpuRunstateInfoLayout.stateEntryTimeOffset, d.vcpu.runstateEntry)
        for s in 0..<4 { info.set64(VcpuRunstateInfoLayout.timeOffset + 8 * s, d.vcpu.runstateTime[s]) }
        return info
    }

    /// Refreshes the runstate area the guest registered, if any (its address space must be loaded).
    /// A guest that unmapped it loses the update, as on Xen; nothing else happens.
    static func publish(_ d: Domain) {
        guard let area = d.vcpu.runstateArea else { return }
        var memory = RunningGuestMemory()
        _ = RunstateAreaUpdate.write(info(d), to: area, flagged: d.vmAssist & VMAssistType.runstateUpdateFlag.bit != 0, &memory)
    }
}

enum TimerHypercall {
    /// set_timer_op (15): a one-shot VIRQ_TIMER at an absolute system time (0 cancels).
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch SetTimerOpRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.setTimer(let deadline)):
            d.timerDeadline = deadline
            return .ok
        }
    }
}
