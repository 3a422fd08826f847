// EmulatedRetirement.swift: what follows an instruction the hypervisor emulated for a guest (a privileged
// instruction on its #GP, forced-emulation cpuid on its #UD, a write to its own page table on its #PF) and
// finished, as Xen's pv_emul_instruction_done and x86_emulate's retire do: RF is cleared (the CPU set it in
// the fault's frame; left set it would hide an instruction breakpoint on the next instruction), and when
// the guest had EFLAGS.TF set as the instruction began, the single step the CPU never took (the fault came
// first) is the guest's #DB after it, with DR6.BS merged into the guest's DR6. Pure: it must never deliver
// the #DB itself, nor be used for an instruction that ended in a fault (no single step then, as on Xen).

import PVABI

public struct EmulatedRetirement: Equatable {
    /// EFLAGS.TF, the trap flag: single-step after each instruction.
    public static let trapFlag: UInt32 = 1 << 8
    /// EFLAGS.RF, the resume flag.
    public static let resumeFlag: UInt32 = 1 << 16
    /// DR6.BS: the #DB was a single step.
    public static let singleStepStatus: UInt32 = 1 << 14

    /// The guest's EFLAGS to return with.
    public let eflags: UInt32
    /// The guest's DR6 once the #DB is due (BS merged in as Xen's x86_merge_dr6 would); nil: no #DB.
    public let debugStatus: UInt32?

    /// IN: the guest's EFLAGS as the emulated instruction began (the emulators never change TF), and the
    /// DR6 the guest would read now (its stored copy).
    public static func after(eflags: UInt32, storedDR6: UInt32) -> EmulatedRetirement {
        let flags = eflags & ~resumeFlag
        guard eflags & trapFlag != 0 else { return EmulatedRetirement(eflags: flags, debugStatus: nil) }
        let hit = DebugRegisterBits.dr6Default | singleStepStatus        // DR6 as the CPU would have left it
        return EmulatedRetirement(eflags: flags, debugStatus: SetDebugRegRequest.mergedDR6(stored: storedDR6, hardware: hit))
    }
}
