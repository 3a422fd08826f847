// The domctl hypercall (36): the XEN_DOMCTL_* numbers Apus implements for dom0's toolstack, and the common header of struct xen_domctl.
// Numbers and layouts only: it must never create, pause or destroy a domain (the hypervisor's domctl handler does).
//
// Xen's per-command argument structs (xen/include/public/domctl.h) are large and change with
// XEN_DOMCTL_INTERFACE_VERSION; dom0 here is Apus's own. Apus keeps Xen's numbers and the
// header below, and may define simpler payloads per command at their handlers; those
// payloads are then documented beside the handler and pinned by a layout test.

/// XEN_DOMCTL_*: xen_domctl.cmd. Dom0 only; a domU gets -EPERM.
public enum DomctlCommand: UInt32, Sendable {
    /// Create an empty domain. IN/OUT: xen_domctl.domain (0 asks the hypervisor to choose).
    case createDomain = 1
    /// Tear a domain down and free its memory.
    case destroyDomain = 2
    /// Stop scheduling a domain until unpaused.
    case pauseDomain = 3
    /// Let a paused (or newly built) domain run.
    case unpauseDomain = 4
    /// OUT: state, memory and CPU time of a domain (or the next one with a higher id).
    case getDomainInfo = 5
    /// IN: xen_domctl_irq_permission: give or take away a physical IRQ of the caller's.
    case irqPermission = 19
    /// IN: xen_domctl_iomem_permission: give or take away a range of device-memory frames.
    case iomemPermission = 20
    /// IN: xen_domctl_ioport_permission: give or take away a range of I/O ports.
    case ioportPermission = 21
    /// IN: the most memory (KiB) the domain may hold.
    case maxMem = 11
    /// IN/OUT: a VCPU's register state.
    case setVCPUContext = 12
    case getVCPUContext = 13
    /// IN: how many VCPUs the domain may have.
    case maxVCPUs = 15
    /// Get or set scheduler parameters (credit: weight and cap).
    case schedulerOp = 16
    /// Resume a domain that suspended.
    case resumeDomain = 27
    /// Choose which domain receives a global VIRQ.
    case setVirqHandler = 66
    /// IN: the highest event-channel port the domain may use.
    case setMaxEventChannel = 70

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .createDomain: return "createdomain"
        case .destroyDomain: return "destroydomain"
        case .pauseDomain: return "pausedomain"
        case .unpauseDomain: return "unpausedomain"
        case .getDomainInfo: return "getdomaininfo"
        case .irqPermission: return "irq_permission"
        case .iomemPermission: return "iomem_permission"
        case .ioportPermission: return "ioport_permission"
        case .maxMem: return "max_mem"
        case .setVCPUContext: return "setvcpucontext"
        case .getVCPUContext: return "getvcpucontext"
        case .maxVCPUs: return "max_vcpus"
        case .schedulerOp: return "scheduler_op"
        case .resumeDomain: return "resumedomain"
        case .setVirqHandler: return "set_virq_handler"
        case .setMaxEventChannel: return "set_max_evtchn"
        }
    }
}

/// The start of struct xen_domctl, the same for every command.
public enum DomctlLayout {
    /// u32, IN: a DomctlCommand.
    public static let cmdOffset: Int = 0
    /// u32, IN: must equal the interface version the hypervisor speaks, else -EACCES.
    public static let interfaceVersionOffset: Int = 4
    /// u16, IN (OUT for createdomain): the domain the command acts on.
    public static let domainOffset: Int = 8
    /// The per-command payload. Xen's union holds uint64_aligned_t fields (8-byte aligned
    /// even on i386), so it starts at 16, not 12; it is 128 bytes long.
    public static let payloadOffset: Int = 16
    public static let payloadSize: Int = 128
    public static let size: Int = 144
}

/// XEN_SCHEDULER_*: xen_domctl_scheduler_op.sched_id.
public enum SchedulerID {
    /// Xen's credit scheduler, which Apus's CreditScheduler follows (weight and cap).
    public static let credit: UInt32 = 5
    public static let credit2: UInt32 = 6
}

/// XEN_DOMCTL_SCHEDOP_*: xen_domctl_scheduler_op.cmd.
public enum DomctlSchedulerCommand: UInt32, Sendable {
    /// IN: new parameters for every VCPU of the domain.
    case putInfo = 0
    /// OUT: the domain's parameters.
    case getInfo = 1
}

/// struct xen_domctl_scheduler_op with the credit member of its union (the payload of schedulerOp).
public enum DomctlSchedulerOpLayout {
    /// u32, IN: a SchedulerID (must be credit).
    public static let schedIDOffset: Int = 0
    /// u32, IN: a DomctlSchedulerCommand.
    public static let cmdOffset: Int = 4
    /// u16, IN/OUT: relative weight (1 ... 65535; Xen's default is 256). The union starts at 8.
    public static let creditWeightOffset: Int = 8
    /// u16, IN/OUT: cap in percent of one physical CPU (0: no cap).
    public static let creditCapOffset: Int = 10
}

/// XEN_DOMINF_*: xen_domctl_getdomaininfo.flags.
public enum DomainInfoFlags {
    public static let dying: UInt32 = 1 << 0
    public static let hvmGuest: UInt32 = 1 << 1
    public static let shutdown: UInt32 = 1 << 2
    public static let paused: UInt32 = 1 << 3
    public static let blocked: UInt32 = 1 << 4
    public static let running: UInt32 = 1 << 5
    /// The shutdown reason (a ShutdownReason) sits in bits 16-23 when `shutdown` is set.
    public static let shutdownShift: UInt32 = 16
    public static let shutdownMask: UInt32 = 0xFF
}

/// The interface version Apus's domctl speaks (xen_domctl.interface_version).
public enum DomctlVersion {
    public static let apus: UInt32 = 0x4150_0001    // "AP" 0001: Apus's own payloads below
}

/// Apus's payload for createdomain (at DomctlLayout.payloadOffset). Xen builds domains in dom0's
/// toolstack; Apus builds them in the hypervisor from an image dom0 hands over.
/// IN: image_va, image_len (the ELF in dom0's memory), memory_kib, weight, cap, name, cmdline_va,
/// cmdline_len, flags (bit 0: create paused), ramdisk_va, ramdisk_len (xl's `ramdisk`, in dom0's
/// memory; length 0: none, and the address is not looked at). OUT: xen_domctl.domain, the new domain's id.
public enum CreateDomainLayout {
    public static let imageVAOffset = 0
    public static let imageLengthOffset = 4
    public static let memoryKiBOffset = 8
    public static let weightOffset = 12
    public static let capOffset = 14
    public static let nameOffset = 16
    public static let nameLength = 16
    public static let commandLineVAOffset = 32
    public static let commandLineLengthOffset = 36
    public static let flagsOffset = 40
    public static let ramdiskVAOffset = 44
    public static let ramdiskLengthOffset = 48
    /// The IN part ends here.
    public static let inputSize = 52
    /// OUT (after a successful create): the new domain's side of its xenstore and console event
    /// channels (unbound, waiting for dom0 to bind_interdomain), and the machine frames of its store
    /// and console pages, which dom0 maps through the domain's reserved grant references
    /// (GrantReservedRef.xenstore and .console, granted to dom0 by the builder, as Xen's does).
    public static let storePortOffset = 52
    public static let consolePortOffset = 56
    public static let storeMFNOffset = 60
    public static let consoleMFNOffset = 64
    public static let size = 68
    public static let flagPaused: UInt32 = 1
}

/// The getdomaininfo payload: Xen's first fields at Xen's offsets, then Apus's additions.
/// IN: xen_domctl.domain, the lowest id wanted; OUT: the first domain with an id at or above it.
public enum DomainInfoLayout {
    public static let domainOffset = 0          // u16 OUT
    public static let flagsOffset = 4           // u32 OUT: DomainInfoFlags
    public static let totalPagesOffset = 8      // u64 OUT
    public static let maxPagesOffset = 16       // u64 OUT
    public static let sharedInfoFrameOffset = 48 // u64 OUT
    public static let cpuTimeOffset = 56        // u64 OUT: nanoseconds
    public static let onlineVCPUsOffset = 64    // u32 OUT
    public static let maxVCPUIDOffset = 68      // u32 OUT
    public static let nameOffset = 96           // 16 bytes OUT (Apus)
    public static let weightOffset = 112        // u16 OUT (Apus)
    public static let capOffset = 114           // u16 OUT (Apus)
    public static let eventsSentOffset = 116    // u32 OUT (Apus)
    public static let eventsReceivedOffset = 120 // u32 OUT (Apus)
    /// OUT (Apus): how many bytes of its console ring's output the domain had produced when it
    /// first notified its console channel. The hypervisor printed those from its console_io writes,
    /// so dom0's console backend starts relaying after them (Mini-OS writes every line both ways).
    public static let consoleRingPrintedOffset = 124 // u32 OUT (Apus)
    public static let size = 128
}

/// sysctl (35): XEN_SYSCTL_* commands Apus answers, with Apus's payloads (at offset 8 of the
/// struct, after cmd u32 and interface_version u32 = DomctlVersion.apus).
public enum SysctlCommand: UInt32, Sendable {
    /// readconsole: IN index u32 @8 (where to start in the hypervisor's log), buffer u32 @12
    /// (guest pointer), count u32 @16 (its size). OUT: count (bytes copied), index (next start).
    case readConsole = 1
    /// physinfo: OUT nr_cpus u32 @16, cpu_khz u32 @32, total_pages u64 @40, free_pages u64 @48,
    /// scrub_pages u64 @56 (free frames not zeroed yet, counted in free_pages too; Xen's order).
    case physInfo = 3
    /// perfc_op (Apus's payload): OUT guest_traps u64 @16, cr3_loads u64 @24, heap_allocations u64 @32,
    /// device_irq_tsc u64 @40 (the TSC when the last device interrupt reached the hypervisor),
    /// heap_in_use u64 @48 and heap_size u64 @56 (the hypervisor's heap, bytes), domains u64 @64 (live
    /// domains, dom0 included), dying_domains u64 @72 (grant tables of destroyed domains that others
    /// still map). What a leak check compares before and after churn.
    case perfcOp = 7
}

public enum SysctlLayout {
    public static let cmdOffset = 0
    public static let interfaceVersionOffset = 4
    public static let size = 128
    public static let readIndexOffset = 8
    public static let readBufferOffset = 12
    public static let readCountOffset = 16
    public static let nrCPUsOffset = 16
    public static let cpuKHzOffset = 32
    public static let totalPagesOffset = 40
    public static let freePagesOffset = 48
    public static let scrubPagesOffset = 56
    public static let guestTrapsOffset = 16
    public static let cr3LoadsOffset = 24
    public static let heapAllocationsOffset = 32
    public static let deviceIRQTSCOffset = 40
    public static let heapInUseOffset = 48
    public static let heapSizeOffset = 56
    public static let domainsOffset = 64
    public static let dyingDomainsOffset = 72
}

/// The three permission payloads, at DomctlLayout.payloadOffset (Xen's layouts).
public enum DomctlPermissionLayout {
    /// xen_domctl_irq_permission: u32 pirq, u8 allow_access.
    public static let irqPirqOffset = 0
    public static let irqAllowOffset = 4
    public static let irqSize = 8
    /// xen_domctl_iomem_permission: u64 first_mfn, u64 nr_mfns, u8 allow_access.
    public static let iomemFirstOffset = 0
    public static let iomemCountOffset = 8
    public static let iomemAllowOffset = 16
    public static let iomemSize = 24
    /// xen_domctl_ioport_permission: u32 first_port, u32 nr_ports, u8 allow_access.
    public static let ioportFirstOffset = 0
    public static let ioportCountOffset = 4
    public static let ioportAllowOffset = 8
    public static let ioportSize = 12
}
