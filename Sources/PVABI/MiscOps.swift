// Small hypercalls of the x86_32 PV ABI: console_io, multicall, vm_assist, fpu_taskswitch, stack_switch.
// Numbers, layouts and contracts only: it must never perform any of these operations.

/// CONSOLEIO_*: IN arg1 of console_io (18); arg2 a byte count; arg3 a guest buffer.
public enum ConsoleIOOp: UInt32, Sendable {
    /// IN: `count` bytes from the buffer go to the hypervisor console, prefixed with the domain.
    /// OUT: 0, or -EFAULT for a bad buffer.
    case write = 0
    /// OUT: up to `count` bytes of console input into the buffer (dom0 only). Returns the
    /// number of bytes read.
    case read = 1
}

/// struct multicall_entry on x86_32 (32 bytes; every field a 4-byte xen_ulong_t).
///
/// multicall (13) IN arg1: guest pointer to an array of these; arg2: their count. Each entry
/// runs as if its hypercall had been made with args[0...5]; OUT: its `result` field. The
/// hypercall itself answers 0 once every entry has run (individual failures are only in
/// `result`). A batch stops after an iret entry, which does not return.
public enum MulticallEntryLayout {
    /// u32, IN: the hypercall number.
    public static let opOffset: Int = 0
    /// u32, OUT: that hypercall's return value.
    public static let resultOffset: Int = 4
    /// u32[6], IN: its arguments (arg1..arg6).
    public static let argsOffset: Int = 8
    public static let argCount: Int = 6
    public static let size: Int = 32

    /// Offset of args[i].
    public static func argOffset(_ i: Int) -> Int { argsOffset + 4 * i }
}

/// VMASST_CMD_*: IN arg1 of vm_assist (21); arg2 a VMASST_TYPE.
public enum VMAssistCommand: UInt32, Sendable {
    /// Turn the assist on. OUT: 0, or -EINVAL for an assist this hypervisor does not offer.
    case enable = 0
    /// Turn it off.
    case disable = 1
}

/// VMASST_TYPE_*: the assists a guest can ask for.
public enum VMAssistType: UInt32, Sendable {
    /// x86_32: emulate full 4 GiB segment limits (for TLS tricks that wrap around).
    case fourGBSegments = 0
    /// x86_32: raise vector 15 whenever the 4 GiB segment emulation is used.
    case fourGBSegmentsNotify = 1
    /// Direct writes to L1 page-table entries are trapped and emulated.
    case writablePagetables = 2
    /// PAE: the L3 table (PDPT) may be above 4 GiB; CR3 values are folded (xen_pfn_to_cr3).
    case paeExtendedCR3 = 3
    /// Virtual IOPL follows the architecture: a guest kernel counts as ring 0 for port access
    /// (set_iopl 1 no longer grants it; 3 does), and EFLAGS.IOPL carries the virtual IOPL.
    case architecturalIOPL = 4
    /// The hypervisor sets XEN_RUNSTATE_UPDATE (bit 63 of state_entry_time) in the registered
    /// runstate area while it rewrites it.
    case runstateUpdateFlag = 5
    /// x86_64 only: hide the M2P from user mode.
    case m2pStrict = 32

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .fourGBSegments: return "4gb_segments"
        case .fourGBSegmentsNotify: return "4gb_segments_notify"
        case .writablePagetables: return "writable_pagetables"
        case .paeExtendedCR3: return "pae_extended_cr3"
        case .architecturalIOPL: return "architectural_iopl"
        case .runstateUpdateFlag: return "runstate_update_flag"
        case .m2pStrict: return "m2p_strict"
        }
    }
}

/// The assists a 32-bit PV guest may turn on (Xen's COMPAT_VM_ASSIST_VALID: the native mask cut
/// to 32 bits, so m2p_strict is not among them). Any other type answers -EINVAL.
public enum VMAssistValid {
    public static let pv32: UInt32 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5
}

/// fpu_taskswitch (5). IN arg1: non-zero sets CR0.TS, zero clears it. OUT: 0.
///
/// A guest kernel cannot write CR0 from ring 1. It sets TS lazily at a context switch, the
/// next FPU instruction raises #NM (vector 7), the hypervisor clears TS and bounces #NM to the
/// guest, which restores its FPU state. The hypervisor must therefore clear the virtual TS when
/// it delivers #NM, and keep the guest's TS across its own context switches.
public enum FPUTaskswitch {
    /// The arg1 value asking for CR0.TS set.
    public static let set: UInt32 = 1
    /// The arg1 value asking for CR0.TS clear.
    public static let clear: UInt32 = 0
}

/// stack_switch (3). IN arg1: stack segment (ss); arg2: stack pointer (esp). OUT: 0.
///
/// Records the guest kernel stack the hypervisor switches to when it bounces a trap or
/// event that interrupted ring 2 or 3 (the ring-1 SS:ESP of the virtual TSS). The selector
/// should name a guest ring-1 data segment, e.g. FLAT_RING1_SS 0xe021 (32-bit Linux passes its
/// __KERNEL_DS 0x68); an RPL below 1 is raised to 1, as Xen's fixup_guest_stack_selector does.
/// Xen refuses nothing here: a stack the CPU will not take fails when a trap first uses it.
public enum StackSwitch {
    /// The requested privilege level a guest kernel stack selector must carry.
    public static let kernelRPL: UInt16 = 1
}
