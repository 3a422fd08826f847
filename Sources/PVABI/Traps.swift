// The x86_32 guest's virtual IDT (set_trap_table's trap_info) and its callbacks (set_callbacks, callback_op): numbers and layouts.
// ABI only: it must never decide whether a trap is delivered or a callback accepted (ApusCore does), nor hold guest state.

/// struct trap_info (8 bytes on x86_32), one virtual IDT entry.
///
/// set_trap_table IN: an array of these ending at an entry whose address is 0. Each entry
/// replaces the guest's handler for `vector`; entries not named keep their old handler.
public enum TrapInfoLayout {
    /// u8: the exception or interrupt vector.
    public static let vectorOffset: Int = 0
    /// u8: bits 0-1 the DPL, the least privileged ring allowed to reach the vector with
    /// `int n`; bit 2 set masks events on entry (the header's "clear event enable").
    public static let flagsOffset: Int = 1
    /// u16: code selector of the handler.
    public static let csOffset: Int = 2
    /// u32: handler offset; 0 means no handler (and ends the set_trap_table list).
    public static let addressOffset: Int = 4
    public static let size: Int = 8

    /// TI_GET_DPL: flags & 3.
    public static let dplMask: UInt8 = 0x3
    /// TI_GET_IF: flags & 4. When set, delivery sets vcpu_info.evtchn_upcall_mask, as an
    /// interrupt gate clears EFLAGS.IF; when clear, the mask is left as it was (a trap gate).
    public static let maskEventsFlag: UInt8 = 0x4
}

/// One virtual IDT entry as the hypervisor keeps it (a value, not a view of guest memory).
public struct TrapInfo: Equatable, Sendable {
    public var vector: UInt8
    public var flags: UInt8
    public var cs: UInt16
    public var address: UInt32

    public init(vector: UInt8, flags: UInt8, cs: UInt16, address: UInt32) {
        self.vector = vector
        self.flags = flags
        self.cs = cs
        self.address = address
    }

    /// The entry as read from guest memory: `low` is bytes 0-3 (vector, flags, cs), `high` bytes 4-7.
    public init(low: UInt32, high: UInt32) {
        vector = UInt8(truncatingIfNeeded: low)
        flags = UInt8(truncatingIfNeeded: low >> 8)
        cs = UInt16(truncatingIfNeeded: low >> 16)
        address = high
    }

    /// The entry of a vector the guest never registered: no handler, DPL 0.
    public static func empty(vector: UInt8) -> TrapInfo { TrapInfo(vector: vector, flags: 0, cs: 0, address: 0) }

    /// Least privileged ring allowed to raise the vector with `int n` (0: none, 3: all).
    public var dpl: UInt8 { flags & TrapInfoLayout.dplMask }
    /// Whether entering the handler masks event upcalls.
    public var masksEvents: Bool { flags & TrapInfoLayout.maskEventsFlag != 0 }
    /// Whether a handler is registered.
    public var hasHandler: Bool { address != 0 }
}

/// xen_callback_t on x86_32 (8 bytes): a far pointer, each half a full `unsigned long`.
public enum XenCallbackLayout {
    /// u32: code selector (only the low 16 bits are meaningful).
    public static let csOffset: Int = 0
    /// u32: entry point.
    public static let eipOffset: Int = 4
    public static let size: Int = 8
}

/// CALLBACKTYPE_*: which callback callback_op registers.
public enum CallbackType: UInt16, Sendable {
    /// Event upcall: entered with events masked when an unmasked event is pending.
    case event = 0
    /// Failsafe: entered when the hypervisor cannot restore the guest's segment registers
    /// on return (a bad selector); DS, ES, FS, GS are pushed below the frame.
    case failsafe = 1
    /// 64-bit syscall; x86_64 hypervisors only.
    case syscall = 2
    /// Old sysenter number; x86_32 hypervisors with supervisor_mode_kernel only.
    case sysenterDeprecated = 3
    /// NMI delivery (entered with events masked).
    case nmi = 4
    /// sysenter from 32-bit guest applications: 64-bit hypervisors on Intel, or 32-bit
    /// hypervisors with supervisor_mode_kernel.
    case sysenter = 5
    /// syscall from 32-bit guest applications; x86_64 hypervisors on AMD only.
    case syscall32 = 7

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .event: return "event"
        case .failsafe: return "failsafe"
        case .syscall: return "syscall"
        case .sysenterDeprecated: return "sysenter_deprecated"
        case .nmi: return "nmi"
        case .sysenter: return "sysenter"
        case .syscall32: return "syscall32"
        }
    }
}

/// callback_op sub-commands (hypercall 30). IN arg1: the command; arg2: guest pointer to its struct.
public enum CallbackOp: UInt32, Sendable {
    /// IN: callback_register. OUT: 0, or -EINVAL for a type this hypervisor does not support.
    case register = 0
    /// IN: callback_unregister. OUT: 0, or -EINVAL for a callback that cannot be unregistered
    /// (event and failsafe cannot).
    case unregister = 1
}

/// struct callback_register on x86_32 (12 bytes).
public enum CallbackRegisterLayout {
    /// u16: a CallbackType.
    public static let typeOffset: Int = 0
    /// u16: CALLBACKF_* flags.
    public static let flagsOffset: Int = 2
    /// xen_callback_t {cs, eip}.
    public static let addressOffset: Int = 4
    public static let csOffset: Int = addressOffset + XenCallbackLayout.csOffset
    public static let eipOffset: Int = addressOffset + XenCallbackLayout.eipOffset
    public static let size: Int = 12

    /// CALLBACKF_mask_events: mask events while the callback runs. Ignored for event and NMI
    /// callbacks, which always mask them; for failsafe it sets VGCF_failsafe_disables_events.
    public static let maskEventsFlag: UInt16 = 1 << 0
}

/// struct callback_unregister (4 bytes).
public enum CallbackUnregisterLayout {
    /// u16: a CallbackType.
    public static let typeOffset: Int = 0
    /// u16: unused.
    public static let unusedOffset: Int = 2
    public static let size: Int = 4
}

/// VGCF_* bits of vcpu_guest_context.flags (VCPUOP_initialise, domctl setvcpucontext).
public enum VcpuGuestContextFlags {
    /// The fpu_ctxt block holds valid state.
    public static let i387Valid: UInt32 = 1 << 0
    /// The VCPU is in guest kernel mode (x86_64 guests).
    public static let inKernel: UInt32 = 1 << 2
    /// Entering the failsafe callback masks events.
    public static let failsafeDisablesEvents: UInt32 = 1 << 3
    /// Entering the syscall callback masks events (x86_64).
    public static let syscallDisablesEvents: UInt32 = 1 << 4
    /// The VCPU is up.
    public static let online: UInt32 = 1 << 5
}
