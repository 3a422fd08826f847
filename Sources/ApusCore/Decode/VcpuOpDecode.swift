// VcpuOpDecode.swift: vcpu_op (24) decoded for one of the domain's vCPUs (arg2; -ENOENT beyond them, as
// Xen): initialise's context range, up, down, is_up, the runstate info's OUT range, the runstate area to
// keep updated, the singleshot timer's deadline and flag, the periodic timer's period, the second
// vcpu_time_info to keep updated, where vcpu_info moves to.
// Reads only through GuestMemoryAccess; must never act (whether a deadline has passed is the actor's call).

import PVABI

public enum VcpuOpRequest {
    /// Any command for a vCPU the domain does not have: Xen answers -ENOENT before looking at the
    /// command. Linux asks is_up for every possible CPU, so this is an answer, not a refusal to log.
    case noSuchVCPU
    case isUp
    /// IN: the vcpu_guest_context (VcpuGuestContextLayout.size bytes) the vCPU starts with.
    case initialise(context: GuestRange)
    case up
    case down
    /// IN: a period in ns, 1 ms to STIME_DELTA_MAX (Xen refuses others with -EINVAL).
    case setPeriodicTimer(periodNs: UInt64)
    /// OUT: vcpu_runstate_info to `out`.
    case getRunstateInfo(out: GuestRange)
    /// IN: an absolute deadline (ns of system time); `future`: refuse one already past (-ETIME).
    case setSingleshotTimer(deadline: UInt64, future: Bool)
    case stopSingleshotTimer
    /// The vCPU has no periodic timer running (none is started for it): stopping it is done.
    case stopPeriodicTimer
    /// IN: where the hypervisor keeps a vcpu_runstate_info up to date (nil: stop).
    case registerRunstateArea(GuestRange?)
    /// IN: where the hypervisor keeps a second vcpu_time_info up to date (nil: stop).
    case registerTimeArea(GuestRange?)
    /// IN: move the vCPU's vcpu_info to byte `offset` of machine frame `mfn` (the 64 bytes fit in it).
    case registerVcpuInfo(mfn: UInt32, offset: UInt32)

    /// The shortest period set_periodic_timer accepts (Xen 4.17's do_vcpu_op: MILLISECS(1); shorter is -EINVAL).
    public static let minimumPeriodNs: UInt64 = 1_000_000
    /// The longest (Xen's STIME_DELTA_MAX, 2^62 - 1 ns: now + period cannot overflow; longer is -EINVAL).
    public static let maximumPeriodNs: UInt64 = UInt64.max >> 2

    /// `vcpus`: how many vCPUs the domain has; arg2 names one of them.
    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, vcpus: Int = 1, _ memory: inout M) -> Decoded<VcpuOpRequest> {
        guard a.a2 < UInt32(max(vcpus, 1)) else { return .success(.noSuchVCPU) }
        guard let op = VcpuOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown vcpu_op command")) }
        switch op {
        case .isUp:
            return .success(.isUp)
        case .getRunstateInfo:
            guard let out = GuestRange(a.a3, count: UInt32(VcpuRunstateInfoLayout.size)) else {
                return .failure(Refusal(.EFAULT, "vcpu_runstate_info is not writable guest memory"))
            }
            return .success(.getRunstateInfo(out: out))
        case .initialise:
            guard let context = GuestRange(a.a3, count: UInt32(VcpuGuestContextLayout.size)) else {
                return .failure(Refusal(.EFAULT, "vcpu_guest_context is not guest memory"))
            }
            return .success(.initialise(context: context))
        case .up:
            return .success(.up)
        case .down:
            return .success(.down)
        case .setPeriodicTimer:
            guard let arg: GuestBytes<8> = memory.read(a.a3, count: VcpuSetPeriodicTimerLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_set_periodic_timer is not readable guest memory"))
            }
            let period = arg.u64(VcpuSetPeriodicTimerLayout.periodNsOffset)
            guard period >= minimumPeriodNs else { return .failure(Refusal(.EINVAL, "set_periodic_timer: a period under 1 ms")) }
            guard period <= maximumPeriodNs else { return .failure(Refusal(.EINVAL, "set_periodic_timer: a period beyond STIME_DELTA_MAX")) }
            return .success(.setPeriodicTimer(periodNs: period))
        case .setSingleshotTimer:
            guard let arg: GuestBytes<12> = memory.read(a.a3, count: VcpuSetSingleshotTimerLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_set_singleshot_timer is not readable guest memory"))
            }
            return .success(.setSingleshotTimer(deadline: arg.u64(VcpuSetSingleshotTimerLayout.timeoutAbsNsOffset),
                                                future: arg.u32(VcpuSetSingleshotTimerLayout.flagsOffset) & VcpuSetSingleshotTimerLayout.futureFlag != 0))
        case .stopSingleshotTimer:
            return .success(.stopSingleshotTimer)
        case .stopPeriodicTimer:
            return .success(.stopPeriodicTimer)
        case .registerRunstateMemoryArea:
            guard let arg: GuestBytes<8> = memory.read(a.a3, count: VcpuRegisterRunstateMemoryAreaLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_register_runstate_memory_area is not readable guest memory"))
            }
            let va = arg.u32(VcpuRegisterRunstateMemoryAreaLayout.addrOffset)
            if va == 0 { return .success(.registerRunstateArea(nil)) }
            guard let area = GuestRange(va, count: UInt32(VcpuRunstateInfoLayout.size)) else {
                return .failure(Refusal(.EFAULT, "the runstate area is not guest memory"))
            }
            return .success(.registerRunstateArea(area))
        case .registerVcpuTimeMemoryArea:
            guard let arg: GuestBytes<8> = memory.read(a.a3, count: VcpuRegisterTimeMemoryAreaLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_register_time_memory_area is not readable guest memory"))
            }
            // As Xen: the handle must pass guest_handle_okay for one vcpu_time_info; a null one
            // passes and stops the updates.
            let va = arg.u32(VcpuRegisterTimeMemoryAreaLayout.addrOffset)
            if va == 0 { return .success(.registerTimeArea(nil)) }
            guard let area = GuestRange(va, count: UInt32(VcpuTimeInfo.size)) else {
                return .failure(Refusal(.EFAULT, "the time memory area is not guest memory"))
            }
            return .success(.registerTimeArea(area))
        case .registerVcpuInfo:
            guard let arg: GuestBytes<16> = memory.read(a.a3, count: VcpuRegisterVcpuInfoLayout.size) else {
                return .failure(Refusal(.EFAULT, "vcpu_register_vcpu_info is not readable guest memory"))
            }
            let mfn = arg.u64(VcpuRegisterVcpuInfoLayout.mfnOffset)
            let offset = arg.u32(VcpuRegisterVcpuInfoLayout.offsetOffset)
            // As Xen's map_vcpu_info: the whole vcpu_info must lie in the one frame.
            guard offset <= UInt32(4096 - VcpuInfo.size) else {
                return .failure(Refusal(.EINVAL, "the vcpu_info would cross the end of its frame"))
            }
            guard mfn <= UInt64(UInt32.max) else { return .failure(Refusal(.EINVAL, "the vcpu_info frame lies beyond any machine frame")) }
            return .success(.registerVcpuInfo(mfn: UInt32(mfn), offset: offset))
        default:
            return .failure(Refusal(.ENOSYS, "this vcpu_op command is not implemented yet"))
        }
    }
}
