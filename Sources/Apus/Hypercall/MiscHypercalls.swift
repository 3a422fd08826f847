// MiscHypercalls.swift: vm_assist (21) and vcpu_op (24) for the one vCPU each domain has:
// is_up, get_runstate_info; timers arrive with virtual time.

import ApusCore
import PVABI

enum MiscHypercalls {
    static func vmAssist(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let command = VMAssistCommand(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown vm_assist command") }
        guard VMAssistType(rawValue: a.a2) != nil else { return .refused(.EINVAL, "unknown vm_assist type") }
        let bit: UInt32 = a.a2 < 32 ? 1 << a.a2 : 0
        switch command {
        case .enable: d.vmAssist |= bit
        case .disable: d.vmAssist &= ~bit
        }
        return .ok
    }

    static func vcpuOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = VcpuOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown vcpu_op command") }
        guard a.a2 == 0 else { return .refused(.ENOENT, "each domain has one vCPU, number 0") }
        switch op {
        case .isUp:
            return .value(1)
        case .getRunstateInfo:
            var info = [UInt8](repeating: 0, count: VcpuRunstateInfoLayout.size)
            let now = SystemTime.nanoseconds()
            Runstates.account(d, now: now)
            func put64(_ v: UInt64, _ o: Int) { for i in 0..<8 { info[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) } }
            let state: Int32 = d.state == .blocked ? Runstate.blocked.rawValue : Runstate.running.rawValue
            for i in 0..<4 { info[VcpuRunstateInfoLayout.stateOffset + i] = UInt8((UInt32(bitPattern: state) >> (8 * UInt32(i))) & 0xFF) }
            put64(d.vcpu.runstateEntry, VcpuRunstateInfoLayout.stateEntryTimeOffset)
            for s in 0..<4 { put64(d.vcpu.runstateTime[s], VcpuRunstateInfoLayout.timeOffset + 8 * s) }
            return GuestMemory.writeBytes(a.a3, info) ? .ok : .refused(.EFAULT, "vcpu_runstate_info is not writable guest memory")
        case .up, .down, .initialise:
            return .refused(.EINVAL, "vCPU 0 is always up; there is no other")
        case .setSingleshotTimer:
            guard let low = GuestMemory.read32(a.a3), let high = GuestMemory.read32(a.a3 + 4),
                  let flags = GuestMemory.read32(a.a3 + UInt32(VcpuSetSingleshotTimerLayout.flagsOffset)) else {
                return .refused(.EFAULT, "vcpu_set_singleshot_timer is not readable guest memory")
            }
            let deadline = UInt64(low) | UInt64(high) << 32
            if flags & VcpuSetSingleshotTimerLayout.futureFlag != 0 && deadline < SystemTime.nanoseconds() {
                return .refused(.ETIME, "the singleshot timer's deadline has already passed")
            }
            d.timerDeadline = max(deadline, 1)
            return .ok
        case .stopSingleshotTimer:
            d.timerDeadline = 0
            return .ok
        default:
            return .refused(.ENOSYS, "this vcpu_op command is not implemented yet")
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
        d.timerDeadline = UInt64(a.a1) | UInt64(a.a2) << 32
        return .ok
    }
}
