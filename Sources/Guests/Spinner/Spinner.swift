// Spinner.swift: a CPU-bound domU. It counts forever and never blocks, so its share of the CPU
// is exactly what the scheduler gives it; dom0 measures that share and destroys it. With stamp=1 it
// first prints the TSC of its first instruction (make bench's create-through-the-API row).
// It must never yield or block: that would measure something else.

import ApusCore
import GuestKit
import PVABI

enum Spinner {
    static var work: UInt64 = 0
    @inline(never) static func step() { work &+= 1 }
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let firstTSC = guest_rdtsc()
    let console = GuestConsole(xen)
    StartOfDay.runOrCrash(startInfo, "spinner")
    // stamp=1: print the TSC of its first instruction (make bench's create-through-the-API row).
    if StartOfDay.number("stamp") == 1 { console.print("bench: guest api_domu_first_instruction_tsc \(firstTSC)") }
    // work=N: count to N and power off (make bench's scalability run); otherwise spin forever.
    if let work = StartOfDay.number("work") {
        while Spinner.work < UInt64(work) { Spinner.step() }
        StartOfDay.shutdown(.poweroff)
    }
    console.print("spinner: running with \(StartOfDay.startInfo.nrPages) pages")
    while true { Spinner.step() }
}

@_cdecl("guest_trap_dispatch") public func guestTrapDispatch(_ frame: UnsafeMutableRawPointer) { GuestTraps.standard(frame) }
@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
