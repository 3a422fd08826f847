// The event_channel_op hypercall (32) of the Xen PV ABI: sub-commands, x86_32 argument layouts, status codes, special domain ids and VIRQ numbers.
// Numbers and layouts only, as xen/include/public/event_channel.h and xen.h define them: it must never bind, send or deliver an event (ApusCore/Events does).
//
// domid_t is a u16 and evtchn_port_t a u32, so a struct that puts a port after a domid
// has two bytes of padding between them. No struct here holds a u64 except the FIFO ones,
// which on i386 align it to 4.

/// EVTCHNOP_*: IN arg1 of event_channel_op; arg2 is a guest pointer to the command's struct.
public enum EventChannelOp: UInt32, Sendable {
    /// Connect a fresh local port to a remote port that is unbound and accepts the caller.
    /// IN/OUT: evtchn_bind_interdomain. The new local port is set pending.
    case bindInterdomain = 0
    /// Bind a fresh local port to a virtual IRQ on one VCPU. IN/OUT: evtchn_bind_virq.
    case bindVirq = 1
    /// Bind a fresh local port to a physical IRQ (privileged). IN/OUT: evtchn_bind_pirq.
    case bindPirq = 2
    /// Close a local port; the remote end of an interdomain channel becomes unbound.
    /// IN: evtchn_close.
    case close = 3
    /// Signal the other end of a local port. IN: evtchn_send.
    case send = 4
    /// Describe the port `dom:port` (another domain's only when privileged). IN/OUT: evtchn_status.
    case status = 5
    /// Allocate a port in `dom` that accepts a binding from `remote_dom`. IN/OUT: evtchn_alloc_unbound.
    case allocUnbound = 6
    /// Bind a fresh local port for VCPU-to-VCPU signals within the domain. IN/OUT: evtchn_bind_ipi.
    case bindIPI = 7
    /// Change which VCPU a port notifies (not for IPI or per-VCPU VIRQ ports). IN: evtchn_bind_vcpu.
    case bindVCPU = 8
    /// Clear a port's mask bit and re-raise it if it is pending. IN: evtchn_unmask.
    case unmask = 9
    /// Close every port of a domain (another domain's only when privileged). IN: evtchn_reset.
    case reset = 10
    /// FIFO ABI: register a control block. IN/OUT: evtchn_init_control. Apus may answer -ENOSYS.
    case initControl = 11
    /// FIFO ABI: add an event-array page. IN: evtchn_expand_array. Apus may answer -ENOSYS.
    case expandArray = 12
    /// FIFO ABI: set a port's priority. IN: evtchn_set_priority. Apus may answer -ENOSYS.
    case setPriority = 13

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .bindInterdomain: return "bind_interdomain"
        case .bindVirq: return "bind_virq"
        case .bindPirq: return "bind_pirq"
        case .close: return "close"
        case .send: return "send"
        case .status: return "status"
        case .allocUnbound: return "alloc_unbound"
        case .bindIPI: return "bind_ipi"
        case .bindVCPU: return "bind_vcpu"
        case .unmask: return "unmask"
        case .reset: return "reset"
        case .initControl: return "init_control"
        case .expandArray: return "expand_array"
        case .setPriority: return "set_priority"
        }
    }
}

/// EVTCHNSTAT_*: OUT evtchn_status.status.
public enum EventChannelStatusCode: UInt32, Sendable {
    /// Not in use (free, or the reserved port 0).
    case closed = 0
    /// Waiting for an interdomain connection; u.unbound.dom names who may bind.
    case unbound = 1
    /// Connected; u.interdomain names the remote domain and port.
    case interdomain = 2
    /// Bound to a physical IRQ; u.pirq.
    case pirq = 3
    /// Bound to a virtual IRQ; u.virq.
    case virq = 4
    /// Bound for IPIs.
    case ipi = 5
}

/// Domain ids with a special meaning (xen.h). Ordinary domains are below `firstReserved`.
public enum SpecialDomainID {
    /// DOMID_FIRST_RESERVED: no ordinary domain has this id or any above it.
    public static let firstReserved: UInt16 = 0x7FF0
    /// DOMID_SELF: "the calling domain", wherever an operation names a domain.
    public static let selfID: UInt16 = 0x7FF0
    /// DOMID_IO: I/O memory owner (mmu_update foreign domain).
    public static let io: UInt16 = 0x7FF1
    /// DOMID_XEN: the hypervisor as a page owner.
    public static let xen: UInt16 = 0x7FF2
    /// DOMID_COW: owner of shared copy-on-write pages.
    public static let cow: UInt16 = 0x7FF3
    /// DOMID_INVALID: no domain.
    public static let invalid: UInt16 = 0x7FF4
    /// DOMID_IDLE: the idle domain.
    public static let idle: UInt16 = 0x7FFF
}

/// VIRQ_* (xen.h): virtual interrupts the hypervisor raises. "Per-VCPU" ones are bound once
/// per VCPU; "global" ones only on VCPU 0 (then movable with bind_vcpu).
public enum Virq {
    /// Per-VCPU: the VCPU's timer fired (set_timer_op / vcpu_op timers).
    public static let timer: UInt32 = 0
    /// Per-VCPU: dump debug information.
    public static let debug: UInt32 = 1
    /// Global (dom0): bytes arrived on the hypervisor's emergency console.
    public static let console: UInt32 = 2
    /// Global (dom0): some domain shut down or crashed.
    public static let domainException: UInt32 = 3
    /// Global (dom0): trace buffer records available.
    public static let traceBuffer: UInt32 = 4
    /// Global (dom0): a domain paused for debugging.
    public static let debugger: UInt32 = 6
    /// Per-VCPU: a profiling sample is available.
    public static let xenoprof: UInt32 = 7
    /// Global (dom0): bytes arrived in the hypervisor console ring.
    public static let consoleRing: UInt32 = 8
    /// Global (dom0): a physical CPU changed state.
    public static let pcpuState: UInt32 = 9
    /// Global (dom0): a memory event occurred.
    public static let memoryEvent: UInt32 = 10
    /// Global: an Argo message arrived.
    public static let argo: UInt32 = 11
    /// Global (dom0): the hypervisor is low on heap.
    public static let lowMemory: UInt32 = 12
    /// Per-VCPU: a PMU interrupt.
    public static let xenPMU: UInt32 = 13
    /// VIRQ_ARCH_0 .. VIRQ_ARCH_7 are 16 ... 23 (per-VCPU on x86).
    public static let arch0: UInt32 = 16
    /// NR_VIRQS: every valid VIRQ is below this.
    public static let count: UInt32 = 24

    /// Whether `virq` is bound per VCPU (Xen's virq_is_global is the negation). On x86 the
    /// arch VIRQs (MCA) are global; Apus raises none of them, so it treats them as global too.
    public static func isPerVCPU(_ virq: UInt32) -> Bool {
        virq == timer || virq == debug || virq == xenoprof || virq == xenPMU
    }
}

/// struct evtchn_alloc_unbound (8 bytes).
public enum EvtchnAllocUnboundLayout {
    /// u16, IN: domain to allocate in (DOMID_SELF, or another only for a privileged caller).
    public static let domOffset: Int = 0
    /// u16, IN: the only domain that may bind to the port (DOMID_SELF: the caller).
    public static let remoteDomOffset: Int = 2
    /// u32, OUT: the new port.
    public static let portOffset: Int = 4
    public static let size: Int = 8
}

/// struct evtchn_bind_interdomain (12 bytes).
public enum EvtchnBindInterdomainLayout {
    /// u16, IN: the domain holding the unbound port (DOMID_SELF: loopback).
    public static let remoteDomOffset: Int = 0
    /// u32, IN: the remote unbound port (after 2 bytes of padding).
    public static let remotePortOffset: Int = 4
    /// u32, OUT: the new local port.
    public static let localPortOffset: Int = 8
    public static let size: Int = 12
}

/// struct evtchn_bind_virq (12 bytes).
public enum EvtchnBindVirqLayout {
    /// u32, IN: a Virq number.
    public static let virqOffset: Int = 0
    /// u32, IN: the VCPU to notify (0 for a global VIRQ).
    public static let vcpuOffset: Int = 4
    /// u32, OUT: the new port.
    public static let portOffset: Int = 8
    public static let size: Int = 12
}

/// struct evtchn_bind_pirq (12 bytes).
public enum EvtchnBindPirqLayout {
    /// u32, IN: the physical IRQ.
    public static let pirqOffset: Int = 0
    /// u32, IN: BIND_PIRQ__* flags.
    public static let flagsOffset: Int = 4
    /// u32, OUT: the new port.
    public static let portOffset: Int = 8
    public static let size: Int = 12
    /// BIND_PIRQ__WILL_SHARE: the guest accepts sharing the line.
    public static let flagWillShare: UInt32 = 1
}

/// struct evtchn_bind_ipi (8 bytes).
public enum EvtchnBindIPILayout {
    /// u32, IN: the VCPU to notify; fixed for the port's life.
    public static let vcpuOffset: Int = 0
    /// u32, OUT: the new port.
    public static let portOffset: Int = 4
    public static let size: Int = 8
}

/// struct evtchn_close, evtchn_send and evtchn_unmask (4 bytes each).
public enum EvtchnPortLayout {
    /// u32, IN: a local port.
    public static let portOffset: Int = 0
    public static let size: Int = 4
}

/// struct evtchn_status (24 bytes).
public enum EvtchnStatusLayout {
    /// u16, IN: the domain (DOMID_SELF, or another only for a privileged caller).
    public static let domOffset: Int = 0
    /// u32, IN: the port (after 2 bytes of padding).
    public static let portOffset: Int = 4
    /// u32, OUT: an EventChannelStatusCode.
    public static let statusOffset: Int = 8
    /// u32, OUT: the VCPU the port notifies.
    public static let vcpuOffset: Int = 12
    /// OUT union at 16: u.unbound.dom (u16), u.interdomain.dom (u16), u.pirq or u.virq (u32).
    public static let unionOffset: Int = 16
    /// u16, OUT when unbound: who may bind. When interdomain: the remote domain.
    public static let remoteDomOffset: Int = 16
    /// u32, OUT when interdomain: the remote port.
    public static let remotePortOffset: Int = 20
    /// u32, OUT when pirq or virq: its number.
    public static let irqOffset: Int = 16
    public static let size: Int = 24
}

/// struct evtchn_bind_vcpu (8 bytes).
public enum EvtchnBindVCPULayout {
    /// u32, IN: a local port.
    public static let portOffset: Int = 0
    /// u32, IN: the VCPU it should notify from now on.
    public static let vcpuOffset: Int = 4
    public static let size: Int = 8
}

/// struct evtchn_reset (2 bytes).
public enum EvtchnResetLayout {
    /// u16, IN: the domain whose ports all close (DOMID_SELF, or another only when privileged).
    public static let domOffset: Int = 0
    public static let size: Int = 2
}

/// struct evtchn_init_control on x86_32 (24 bytes; FIFO ABI, listed for completeness).
public enum EvtchnInitControlLayout {
    /// u64, IN: guest frame of the control block.
    public static let controlGFNOffset: Int = 0
    /// u32, IN: byte offset of the block in that frame.
    public static let offsetOffset: Int = 8
    /// u32, IN: the VCPU the block belongs to.
    public static let vcpuOffset: Int = 12
    /// u8, OUT: link bits the hypervisor supports.
    public static let linkBitsOffset: Int = 16
    public static let size: Int = 24
}

/// struct evtchn_expand_array (8 bytes; FIFO ABI).
public enum EvtchnExpandArrayLayout {
    /// u64, IN: guest frame to add to the event array.
    public static let arrayGFNOffset: Int = 0
    public static let size: Int = 8
}

/// struct evtchn_set_priority (8 bytes; FIFO ABI).
public enum EvtchnSetPriorityLayout {
    /// u32, IN: a local port.
    public static let portOffset: Int = 0
    /// u32, IN: 0 (highest) to 15 (lowest).
    public static let priorityOffset: Int = 4
    public static let size: Int = 8
}

/// struct evtchn_fifo_control_block (one per VCPU, inside a guest frame): READY bits and the queue heads.
public enum EvtchnFifoControlBlockLayout {
    /// u32: bit p set while queue p has events the guest has not started to consume.
    public static let readyOffset: Int = 0
    /// u32 head[16]: the first port of each priority's queue (0: empty).
    public static let headOffset: Int = 8
    public static let size: Int = 72
    /// Byte offset of head[priority].
    public static func head(_ priority: UInt32) -> Int { headOffset + Int(priority) * 4 }
}

/// The FIFO ABI's event words (event_word_t, u32) and priorities.
public enum EvtchnFifo {
    public static let pendingBit: UInt32 = 31
    public static let maskedBit: UInt32 = 30
    public static let linkedBit: UInt32 = 29
    public static let busyBit: UInt32 = 28
    /// EVTCHN_FIFO_LINK_BITS: init_control's OUT link_bits.
    public static let linkBits: UInt32 = 17
    public static let linkMask: UInt32 = (1 << 17) - 1
    /// Ports the ABI can name (1 << link bits).
    public static let maxPorts: UInt32 = 1 << 17
    public static let priorityHighest: UInt32 = 0
    public static let priorityDefault: UInt32 = 7
    public static let priorityLowest: UInt32 = 15
    public static let priorities: Int = 16
    /// Event words in one 4 KiB event-array page.
    public static let wordsPerPage: UInt32 = 1024
    /// EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES.
    public static let maxArrayPages: UInt32 = maxPorts / wordsPerPage
}
