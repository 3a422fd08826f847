// MiscHypercalls.swift: vm_assist (21), vcpu_op (24) for the one vCPU each domain has (is_up,
// get_runstate_info, singleshot timers) and set_timer_op (15), acted on. ApusCore decodes each
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
        case .success(.isUp):
            return .value(1)
        case .success(.getRunstateInfo(let out)):
            let now = SystemTime.nanoseconds()
            Runstates.account(d, now: now)
            var info = GuestBytes<44>(count: VcpuRunstateInfoLayout.size)
            let state: Runstate = d.state == .blocked ? .blocked : .running
            info.set32(VcpuRunstateInfoLayout.stateOffset, UInt32(bitPattern: state.rawValue))
            info.set64(VcpuRunstateInfoLayout.stateEntryTimeOffset, d.vcpu.runstateEntry)
            for s in 0..<4 { info.set64(VcpuRunstateInfoLayout.timeOffset + 8 * s, d.vcpu.runstateTime[s]) }
            return memory.write(info, to: out) ? .ok : .refused(.EFAULT, "vcpu_runstate_info is not writable guest memory")
        case .success(.setSingleshotTimer(let deadline, let future)):
            if future && deadline < SystemTime.nanoseconds() {
                return .refused(.ETIME, "the singleshot timer's deadline has already passed")
            }
            d.timerDeadline = max(deadline, 1)
            return .ok
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
