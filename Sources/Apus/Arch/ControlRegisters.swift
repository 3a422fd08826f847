// ControlRegisters.swift: the control-register writes the hypervisor makes: CR3 (the address
// space, counted for make bench) and CR0.TS (the guest's virtual fpu_taskswitch). Named writes
// only; which address space or flag is wanted is decided by the callers.

import ApusCore

/// Every CR3 load goes through here, so make bench can count them. A CR3 load drops every
/// guest translation (none is global), so the paging core's notes of stale ones go with it.
func loadCR3(_ value: UInt32) {
    Counters.cr3Loads &+= 1
    cpu_write_cr3(value)
    Machine.frames.translationsFlushed()
}

enum ControlRegisters {
    static let taskSwitched: UInt32 = 1 << 3

    /// CR0 as the hypervisor last wrote it, when known: every write of CR0 after boot goes through
    /// setTaskSwitched, clearTaskSwitched or forgetTaskSwitched (the CPU itself changes TS only on a
    /// hardware task switch, which Apus never makes), so a context switch needs no CR0 read.
    private static var shadowKnown = false
    private static var shadow: UInt32 = 0

    /// Sets or clears CR0.TS; CR0 is written only when the bit changes, and read only when not known.
    static func setTaskSwitched(_ on: Bool) {
        let cr0 = shadowKnown ? shadow : cpu_read_cr0()
        let wanted = on ? cr0 | taskSwitched : cr0 & ~taskSwitched
        if wanted != cr0 { cpu_write_cr0(wanted) }
        shadow = wanted
        shadowKnown = true
    }

    /// clts: CR0.TS cleared.
    static func clearTaskSwitched() {
        cpu_clts()
        shadow &= ~taskSwitched
    }

    /// After CR0 was written some other way: CR0 is read again at the next change of TS.
    static func forgetTaskSwitched() {
        shadowKnown = false
    }
}
