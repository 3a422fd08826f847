// The vcpu_op hypercall (24) of the Xen PV ABI: sub-commands, runstates, and x86_32 argument layouts.
// Numbers and layouts only: it must never start, stop or time a VCPU (the scheduler does).
//
// On i386 a uint64_t inside a struct aligns to 4, so the x86_32 layouts below are packed
// tighter than the same structs on x86_64 (vcpu_runstate_info is 44 bytes, not 48).

/// VCPUOP_*: IN arg1 of vcpu_op; arg2 the VCPU id; arg3 a guest pointer to the command's struct, or 0.
public enum VcpuOp: UInt32, Sendable {
    /// IN: vcpu_guest_context, the initial state of a VCPU not yet initialised. OUT: 0, -EEXIST.
    case initialise = 0
    /// Make an initialised VCPU runnable. OUT: 0, -EINVAL when not initialised.
    case up = 1
    /// Make a VCPU not runnable (synchronous only when a VCPU downs itself).
    case down = 2
    /// OUT: 1 if the VCPU is up, else 0.
    case isUp = 3
    /// OUT: vcpu_runstate_info of the VCPU.
    case getRunstateInfo = 4
    /// IN: vcpu_register_runstate_memory_area, a guest virtual address the hypervisor keeps
    /// updated with vcpu_runstate_info each time the VCPU is scheduled.
    case registerRunstateMemoryArea = 5
    /// IN: vcpu_set_periodic_timer. Periods under 1 ms may be refused (-EINVAL).
    case setPeriodicTimer = 6
    /// Stop the periodic timer. IN: nothing.
    case stopPeriodicTimer = 7
    /// IN: vcpu_set_singleshot_timer. OUT: 0, or -ETIME when VCPU_SSHOTTMR_future is set and
    /// the time has passed.
    case setSingleshotTimer = 8
    /// Cancel the single-shot timer. IN: nothing.
    case stopSingleshotTimer = 9
    /// IN: vcpu_register_vcpu_info: move this VCPU's vcpu_info into a guest frame (once per VCPU;
    /// the area must not cross a page boundary).
    case registerVcpuInfo = 10
    /// Raise an NMI on the VCPU. IN: nothing.
    case sendNMI = 11
    /// OUT: vcpu_get_physid (x86: APIC id in bits 0-31, ACPI id in 32-63); -EINVAL if unpinned.
    case getPhysid = 12
    /// IN: vcpu_register_time_memory_area: a secondary vcpu_time_info kept in step with the master.
    case registerVcpuTimeMemoryArea = 13

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .initialise: return "initialise"
        case .up: return "up"
        case .down: return "down"
        case .isUp: return "is_up"
        case .getRunstateInfo: return "get_runstate_info"
        case .registerRunstateMemoryArea: return "register_runstate_memory_area"
        case .setPeriodicTimer: return "set_periodic_timer"
        case .stopPeriodicTimer: return "stop_periodic_timer"
        case .setSingleshotTimer: return "set_singleshot_timer"
        case .stopSingleshotTimer: return "stop_singleshot_timer"
        case .registerVcpuInfo: return "register_vcpu_info"
        case .sendNMI: return "send_nmi"
        case .getPhysid: return "get_physid"
        case .registerVcpuTimeMemoryArea: return "register_vcpu_time_memory_area"
        }
    }
}

/// RUNSTATE_*: what a VCPU is doing, as reported in vcpu_runstate_info.state.
public enum Runstate: Int32, Sendable {
    /// Running on a physical CPU.
    case running = 0
    /// Runnable, waiting for a physical CPU.
    case runnable = 1
    /// Blocked waiting for an event (idle).
    case blocked = 2
    /// Neither runnable nor blocked: down, paused, or held by the hypervisor.
    case offline = 3
}

/// struct vcpu_runstate_info on x86_32 (44 bytes).
public enum VcpuRunstateInfoLayout {
    /// i32, OUT: a Runstate.
    public static let stateOffset: Int = 0
    /// u64, OUT: system time (ns) at which `state` was entered. 4-aligned on x86_32.
    public static let stateEntryTimeOffset: Int = 4
    /// u64[4], OUT: ns spent in each Runstate, indexed by its raw value.
    public static let timeOffset: Int = 12
    public static let size: Int = 44

    /// Offset of time[state].
    public static func timeOffset(_ state: Runstate) -> Int { timeOffset + Int(state.rawValue) * 8 }
}

/// struct vcpu_register_runstate_memory_area (8 bytes: a union of a guest handle and a u64).
public enum VcpuRegisterRunstateMemoryAreaLayout {
    /// IN: guest virtual address of a vcpu_runstate_info (low 4 bytes on x86_32; 0 unregisters).
    public static let addrOffset: Int = 0
    public static let size: Int = 8
}

/// struct vcpu_set_periodic_timer (8 bytes).
public enum VcpuSetPeriodicTimerLayout {
    /// u64, IN: period in ns.
    public static let periodNsOffset: Int = 0
    public static let size: Int = 8
}

/// struct vcpu_set_singleshot_timer on x86_32 (12 bytes).
public enum VcpuSetSingleshotTimerLayout {
    /// u64, IN: absolute system time in ns.
    public static let timeoutAbsNsOffset: Int = 0
    /// u32, IN: VCPU_SSHOTTMR_* flags.
    public static let flagsOffset: Int = 8
    public static let size: Int = 12

    /// VCPU_SSHOTTMR_future: refuse (-ETIME) a timeout already in the past.
    public static let futureFlag: UInt32 = 1 << 0
}

/// struct vcpu_register_vcpu_info (16 bytes).
public enum VcpuRegisterVcpuInfoLayout {
    /// u64, IN: machine frame to hold the vcpu_info.
    public static let mfnOffset: Int = 0
    /// u32, IN: byte offset in that frame; offset + 64 must not cross the frame's end.
    public static let offsetOffset: Int = 8
    /// u32: reserved.
    public static let rsvdOffset: Int = 12
    public static let size: Int = 16
}

/// struct vcpu_get_physid (8 bytes).
public enum VcpuGetPhysidLayout {
    /// u64, OUT: APIC id in bits 0-31, ACPI id in bits 32-63.
    public static let physIDOffset: Int = 0
    public static let size: Int = 8
}

/// struct vcpu_register_time_memory_area (8 bytes: a union of a guest handle and a u64).
public enum VcpuRegisterTimeMemoryAreaLayout {
    /// IN: guest virtual address of a vcpu_time_info (low 4 bytes on x86_32).
    public static let addrOffset: Int = 0
    public static let size: Int = 8
}
