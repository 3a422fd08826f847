// EmulatedSingleStep.swift: the end of every instruction an emulator finished for a guest (PrivilegedEmulation,
// CPUIDEmulation, WritablePageTables): EmulatedRetirement decides; RF is cleared and, when the guest was
// single-stepping (TF), its #DB is delivered after the instruction with DR6.BS in the DR6 it reads, as Xen's
// pv_emul_instruction_done does. It must never run for an instruction that ended in a fault for the guest.

import ApusCore

enum EmulatedSingleStep {
    /// The emulator has moved the frame past the instruction (or left it at an unfinished rep).
    @inline(never)
    static func retire(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        let r = EmulatedRetirement.after(eflags: frame.pointee.eflags, storedDR6: d.vcpu.debugStatus)
        frame.pointee.eflags = r.eflags
        guard let status = r.debugStatus else { return }
        d.vcpu.debugStatus = status
        frame.pointee.vector = 1
        GuestFaults.bounce(frame, d, vector: 1, hasErrorCode: false)
    }
}
