// ContextSwitch.swift: puts a domain on the CPU: its address space (CR3), descriptor shadows, its
// int 0x80 gate and ring-1 stack, CR0.TS, time record and saved registers into the frame at the top
// of the ring-0 stack, then enters it. Whom to run is the Scheduler's choice; this file never makes it.

import ApusCore
import PVABI

enum ContextSwitch {
    /// The frame every trap from a guest leaves at the top of the ring-0 stack.
    static var guestFrame: UnsafeMutablePointer<TrapFrame>! = nil

    /// Loads everything of `d` the CPU uses, with `now` (system time at TSC `tsc`) as the start of
    /// its running time.
    static func load(_ d: Domain, tsc: UInt64, now: UInt64) {
        loadCR3(d.vcpu.hardwarePDPTPhysical)
        GuestGDT.reload(d)
        LocalDescriptorTable.switchTo(d)
        SystemCallGate.load(d)
        FPU.applyTaskSwitched(d)
        SystemTime.switchedTo(d, tsc: tsc, now: now)
        d.vcpu.runstateEntry = now
        Runstates.publish(d)
        d.vcpu.restore(into: guestFrame)
        Events.injectIfPending(guestFrame, d)
    }

    /// Enters the loaded domain with the registers in the guest frame.
    static func resume() -> Never { GuestEntry.enter(guestFrame) }
}
