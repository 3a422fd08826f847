// MiscHypercalls.swift: vm_assist (21), vcpu_op (24) for any vCPU of the domain (bring-up in
// VcpuBringUp; is_up, get_runstate_info, the runstate and time areas, timers) and set_timer_op (15), acted on. ApusCore decodes each
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
        let request: VcpuOpRequest
        switch VcpuOpRequest.decode(a, vcpus: d.vcpus.count, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.noSuchVCPU): return .answer(.ENOENT)
        case .success(let r): request = r
        }
        // The decoder checked arg2 names one of the domain's vCPUs.
        let v = d.vcpus[Int(a.a2)]
        switch request {
        case .noSuchVCPU:
            return .answer(.ENOENT)
        case .initialise(let range):
            return VcpuBringUp.initialise(d, v, range, &memory)
        case .up:
            return VcpuBringUp.up(d, v)
        case .down:
            return VcpuBringUp.down(d, v)
        case .isUp:
            return .value(v.runState == .down ? 0 : 1)
        case .getRunstateInfo(let out):
            Runstates.account(v, now: SystemTime.nanoseconds())
            return memory.write(Runstates.info(v), to: out) ? .ok : .refused(.EFAULT, "vcpu_runstate_info is not writable guest memory")
        case .registerRunstateArea(let area):
            // As Xen: remembered, and filled in at once (then each time the vCPU is put on the CPU).
            v.runstateArea = area
            guard let area else { return .ok }
            Runstates.account(v, now: SystemTime.nanoseconds())
            return RunstateAreaUpdate.write(Runstates.info(v), to: area, flagged: d.vmAssist & VMAssistType.runstateUpdateFlag.bit != 0, &memory)
                ? .ok : .refused(.EFAULT, "the runstate area is not writable guest memory")
        case .registerTimeArea(let area):
            // As Xen: remembered, then filled in at once (force_update_vcpu_system_time) and at every
            // later update of the time record.
            v.timeArea = area
            SystemTime.publish(d, v)
            return .ok
        case .setPeriodicTimer(let period):
            v.periodNs = period
            v.periodicNext = SystemTime.nanoseconds() &+ period
            return .ok
        case .stopPeriodicTimer:
            v.periodNs = 0
            v.periodicNext = 0
            return .ok
        case .setSingleshotTimer(let deadline, let future):
            // As Xen: only the calling vCPU's own singleshot timer.
            guard v === d.vcpu else { return .refused(.EINVAL, "set_singleshot_timer: only for the calling vCPU") }
            // VCPU_SSHOTTMR_future and a deadline already past: -ETIME, an ordinary answer (the
            // guest asked to be told), so not logged as a refusal.
            if future && deadline < SystemTime.nanoseconds() { return .answer(.ETIME) }
            v.timerDeadline = max(deadline, 1)
            return .ok
        case .registerVcpuInfo(let mfn, let offset):
            return VcpuInfoPlacement.register(d, v, mfn: mfn, offset: offset)
        case .stopSingleshotTimer:
            guard v === d.vcpu else { return .refused(.EINVAL, "stop_singleshot_timer: only for the calling vCPU") }
            v.timerDeadline = 0
            return .ok
        }
    }
}

/// Time spent by a vCPU in each runstate (running, runnable, blocked, offline).
enum Runstates {
    static func state(_ v: VCPU) -> Runstate {
        switch v.runState {
        case .runnable: return .running
        case .blocked: return .blocked
        case .down: return .offline
        }
    }

    static func account(_ v: VCPU, now: UInt64) {
        let since = v.runstateEntry
        if now > since { v.runstateTime[Int(state(v).rawValue)] &+= now - since }
        v.runstateEntry = now
    }

    /// The vCPU's vcpu_runstate_info as of its last accounting.
    static func info(_ v: VCPU) -> GuestBytes<44> {
        var info = GuestBytes<44>(count: VcpuRunstateInfoLayout.size)
        info.set32(VcpuRunstateInfoLayout.stateOffset, UInt32(bitPattern: state(v).rawValue))
        info.set64(VcpuRunstateInfoLayout.stateEntryTimeOffset, v.runstateEntry)
        for s in 0..<4 { info.set64(VcpuRunstateInfoLayout.timeOffset + 8 * s, v.runstateTime[s]) }
        return info
    }

    /// Refreshes the runstate area the current vCPU registered, if any (its address space must be loaded).
    /// A guest that unmapped it loses the update, as on Xen; nothing else happens.
    static func publish(_ d: Domain) {
        guard let area = d.vcpu.runstateArea else { return }
        var memory = RunningGuestMemory()
        _ = RunstateAreaUpdate.write(info(d.vcpu), to: area, flagged: d.vmAssist & VMAssistType.runstateUpdateFlag.bit != 0, &memory)
    }
}

enum TimerHypercall {
    /// set_timer_op (15): a one-shot VIRQ_TIMER at an absolute system time (0 cancels).
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch SetTimerOpRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.setTimer(let deadline)):
            d.vcpu.timerDeadline = deadline
            return .ok
        }
    }
}
