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
    /// x86_64 only: hide the M2P from user mode.
    case m2pStrict = 32

    /// The C name, for log lines people read.
    public var name: StaticString {
        switch self {
        case .fourGBSegments: return "4gb_segments"
        case .fourGBSegmentsNotify: return "4gb_segments_notify"
        case .writablePagetables: return "writable_pagetables"
        case .paeExtendedCR3: return "pae_extended_cr3"
        case .m2pStrict: return "m2p_strict"
        }
    }
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
/// must name a guest ring-1 data segment, e.g. FLAT_RING1_SS 0xe021; a selector with RPL 0
/// is taken as RPL 1, as Xen's fixup_guest_stack_selector does.
public enum StackSwitch {
    /// The requested privilege level a guest kernel stack selector must carry.
    public static let kernelRPL: UInt16 = 1
}
