// set_debugreg (8) and get_debugreg (9) of the x86_32 PV ABI, with the architectural bits of DR6 and
// DR7 the hypervisor's checks use (Xen's x86-defns.h and debugreg.h). Numbers and contracts only: it
// must never load a debug register.
//
// set_debugreg IN arg1: register 0-7; arg2: value. OUT: 0, -EPERM for a breakpoint address in the
// hypervisor's area, DR7.GD or an I/O breakpoint; -ENODEV for a register that does not exist (4 and 5
// alias 6 and 7 unless the guest set CR4.DE). get_debugreg IN arg1: register. OUT: its value.

public enum DebugRegisterBits {
    /// DR6 bits that read as 1 (reserved) and as 0: what the hypervisor stores and the guest reads.
    public static let dr6Default: UInt32 = 0xFFFF_0FF0
    public static let dr6Zeros: UInt32 = 0x0000_1000
    /// DR6 B0-B3: which breakpoint matched; overwritten by each #DB, the other bits accumulate.
    public static let dr6BreakpointMask: UInt32 = 0xF
    /// DR7 bits forced to 0 (12, 14, 15, and 11: RTM, which no CPU Apus offers has) and bit 10, forced to 1.
    public static let dr7Zeros: UInt32 = 0x0000_D800
    public static let dr7Default: UInt32 = 0x0000_0400
    /// DR7.GD: general detect, a fault on any debug-register access: the hypervisor's alone.
    public static let dr7GeneralDetect: UInt32 = 1 << 13
    /// DR7 L0-L3 and G0-G3: any set means some breakpoint is live.
    public static let dr7ActiveMask: UInt32 = 0xFF
    /// Each breakpoint's R/W and LEN field: 4 bits from bit 16; R/W 2 means an I/O breakpoint.
    public static let dr7ControlShift: UInt32 = 16
    public static let dr7ControlSize: UInt32 = 4
    public static let dr7IOBreakpoint: UInt32 = 2
    /// CR4.DE: debug extensions (DR4/DR5 no longer alias DR6/DR7; I/O breakpoints allowed).
    public static let cr4DebuggingExtensions: UInt32 = 1 << 3
}
