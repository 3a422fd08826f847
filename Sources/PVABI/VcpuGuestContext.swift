// VcpuGuestContext.swift: struct vcpu_guest_context for x86_32 (xen/include/public/arch-x86/xen.h and
// xen-x86_32.h), the initial state VCPUOP_initialise gives a vCPU, and cpu_user_regs within it.
// Offsets and sizes only: it must never decide whether a context is acceptable (ApusCore does).

/// struct vcpu_guest_context on x86_32 (2800 bytes; every `unsigned long` is 4 bytes).
public enum VcpuGuestContextLayout {
    /// char[512]: FXSAVE image, meaningful only with VGCF_i387_valid.
    public static let fpuOffset = 0
    /// u32: VGCF_* (VcpuGuestContextFlags).
    public static let flagsOffset = 512
    /// struct cpu_user_regs (68 bytes).
    public static let userRegsOffset = 516
    /// struct trap_info[256] (8 bytes each).
    public static let trapCtxtOffset = 584
    public static let trapCount = 256
    /// u32 ldt_base (linear address), u32 ldt_ents.
    public static let ldtBaseOffset = 2632
    public static let ldtEntsOffset = 2636
    /// u32 gdt_frames[16] (machine frames), u32 gdt_ents.
    public static let gdtFramesOffset = 2640
    public static let gdtFrameCount = 16
    public static let gdtEntsOffset = 2704
    /// u32 kernel_ss, kernel_sp: the ring-1 stack for traps from ring 3 (TSS.ss1/esp1).
    public static let kernelSSOffset = 2708
    public static let kernelSPOffset = 2712
    /// u32 ctrlreg[8]: CR0-CR7; ctrlreg[3] holds xen_pfn_to_cr3(the top-level table's frame).
    public static let ctrlregOffset = 2716
    /// u32 debugreg[8]: DR0-DR7.
    public static let debugregOffset = 2748
    /// u32 each: CS:EIP of the event and failsafe callbacks.
    public static let eventCallbackCSOffset = 2780
    public static let eventCallbackEIPOffset = 2784
    public static let failsafeCallbackCSOffset = 2788
    public static let failsafeCallbackEIPOffset = 2792
    /// u32: VMASST_TYPE_* bits.
    public static let vmAssistOffset = 2796
    public static let size = 2800

    /// ctrlreg[3] on x86_32 (xen_cr3_to_pfn): the frame number rotated so its bits above 20 sit in the low 12.
    public static func frame(ofCR3 cr3: UInt32) -> UInt32 { cr3 >> 12 | (cr3 & 0xFFF) << 20 }
    /// xen_pfn_to_cr3 on x86_32.
    public static func cr3(ofFrame frame: UInt32) -> UInt32 { frame << 12 | frame >> 20 }
}

/// struct cpu_user_regs on x86_32 (68 bytes), as offsets from its start.
public enum CpuUserRegsLayout {
    public static let ebx = 0, ecx = 4, edx = 8, esi = 12, edi = 16, ebp = 20, eax = 24
    /// u16 error_code, u16 entry_vector.
    public static let errorCode = 28, entryVector = 30
    public static let eip = 32
    /// u16 cs, u8 saved_upcall_mask, u8 pad.
    public static let cs = 36, savedUpcallMask = 38
    public static let eflags = 40, esp = 44
    /// u16 each, followed by u16 padding.
    public static let ss = 48, es = 52, ds = 56, fs = 60, gs = 64
    public static let size = 68
}
