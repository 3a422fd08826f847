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

    /// Sets or clears CR0.TS; CR0 is written only when the bit changes.
    static func setTaskSwitched(_ on: Bool) {
        let cr0 = cpu_read_cr0()
        let wanted = on ? cr0 | taskSwitched : cr0 & ~taskSwitched
        if wanted != cr0 { cpu_write_cr0(wanted) }
    }
}
