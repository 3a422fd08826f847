// CrashTests.swift: the crash-* scenarios: dom0 breaks the PV contract on purpose, one way per
// scenario, so the log shows the hypervisor stopping it alone and carrying on. Each function
// must end in the breakage; reaching its last line is itself a failure.

import ApusCore
import GuestKit
import PVABI

enum CrashTests {
    /// Returns false when `name` is not a crash scenario.
    static func run(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        if BootOptions.equal(name, "crash-nohandler") {
            console.print("crash test: clearing the trap table, then dividing by zero")
            _ = xen.setTrapTable(0)
            _ = guest_divide(7, 0)
        } else if BootOptions.equal(name, "crash-bounce") {
            console.print("crash test: kernel stack for ring-3 traps at an unmapped address, then a system call")
            _ = xen.stackSwitch(ss: UInt32(Selector.flatRing1DS), esp: 0x4000_0000)
            _ = PVSelfTest.markUserPages()
            _ = guest_enter_user(guest_symbol(GuestSymbol.userEntry), guest_symbol(GuestSymbol.userStackTop))
        } else if BootOptions.equal(name, "crash-return") {
            console.print("crash test: loading FS from our GDT, then marking that descriptor not present")
            PVSelfTest.installTestGDT()
            guest_load_fs(0x09)
            let ma = UInt64(PVSelfTest.gdtMFN) << 12 | 8
            let rc = xen.updateDescriptor(machineAddress: ma, descriptor: 0x00CF_3300_0000_FFFF)   // P = 0
            console.print("crash test: descriptor 1 is now not present (update_descriptor returned \(rc)); the next return must fail")
            _ = xen.schedOp(.yield)
        } else if BootOptions.equal(name, "crash-shutdown") {
            console.print("crash test: shutting down with reason crash")
            Kernel.shutdown(.crash)
        } else {
            return false
        }
        console.print("crash test: still running after the breakage; this is a failure")
        Kernel.shutdown(.poweroff)
    }
}
