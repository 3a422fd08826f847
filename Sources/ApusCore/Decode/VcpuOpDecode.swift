// VcpuOpDecode.swift: vcpu_op (24) decoded for the one vCPU each domain has: is_up, the runstate info's
// OUT range, the singleshot timer's deadline and flag, and the refusals for what does not exist here.
// Reads only through GuestMemoryAccess; must never act (whether a deadline has passed is the actor's call).

import PVABI

public enum VcpuOpRequest {
    case isUp
    /// OUT: vcpu_runstate_info to `out`.
    case getRunstateInfo(out: GuestRange)
    /// IN: an absolute deadline (ns of system time); `future`: refuse one already past (-ETIME).
    case setSingleshotTimer(deadline: UInt64, future: Bool)
    case stopSingleshotTimer

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<VcpuOpRequest> {
        guard let op = VcpuOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown vcpu_op command")) }
        guard a.a2 == 0 else { return .failure(Refusal(.ENOENT, "each domain has one vCPU, number 0")) }
        switch op {
        case .isUp:
            return .success(.isUp)
        case .getRunstateInfo:
            guard let out = GuestRange(a.a3, count: UInt32(VcpuRunstateInfoLayout.size)) else {
                return .failure(Refusal(.EFAULT, "vcpu_runstate_info is not writable guest memory"))
            }
            return .success(.getRunstateInfo(out: out))
        case .up, .down, .initialise:
            return .failure(Refusal(.EINVAL, "vCPU 0 is always up; there is no other"))
        case .setSingleshotTimer:
            guard let arg: GuestBytes<12> = memory.read(a.a3, count: VcpuSetSingleshotTimerLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_set_singleshot_timer is not readable guest memory"))
            }
            return .success(.setSingleshotTimer(deadline: arg.u64(VcpuSetSingleshotTimerLayout.timeoutAbsNsOffset),
                                                future: arg.u32(VcpuSetSingleshotTimerLayout.flagsOffset) & VcpuSetSingleshotTimerLayout.futureFlag != 0))
        case .stopSingleshotTimer:
            return .success(.stopSingleshotTimer)
        default:
            return .failure(Refusal(.ENOSYS, "this vcpu_op command is not implemented yet"))
        }
    }
}
