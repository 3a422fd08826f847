// Clock.swift: a domU that reads time the PV way: vcpu_time_info (TSC scaled by the hypervisor's
// mul/shift), woken by VIRQ_TIMER from set_timer_op. It checks each wake-up happened at or after
// the deadline it asked for, and not much later, and prints what it measured.

import ApusCore
import GuestKit
import PVABI

enum Clock {
    static var ticks: UInt32 = 0
    static var timerPort: UInt32 = 0
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let console = GuestConsole(xen)
    StartOfDay.runOrCrash(startInfo, "clock")
    let port = GuestEvents.bindVirq(Virq.timer)
    guard port > 0 else { console.print("clock: bind_virq(VIRQ_TIMER) failed with \(port)"); StartOfDay.shutdown(.crash) }
    Clock.timerPort = UInt32(port)
    GuestEvents.handler = { p in if p == Clock.timerPort { Clock.ticks &+= 1 } }
    let period: UInt64 = 10_000_000
    let rounds = StartOfDay.number("ticks") ?? 10
    var good: UInt32 = 0
    var previous = GuestTime.now()
    console.print("clock: system time \(previous / 1000) us at start, VIRQ_TIMER on port \(port)")
    let si = StartOfDay.sharedInfo.base
    let wall = WallClock(wcSec: si.load(fromByteOffset: SharedInfo.wcSecOffset, as: UInt32.self),
                         wcSecHi: si.load(fromByteOffset: SharedInfo.wcSecHiOffset, as: UInt32.self),
                         wcNsec: si.load(fromByteOffset: SharedInfo.wcNsecOffset, as: UInt32.self)).adding(nanoseconds: previous)
    let date = CivilDate(secondsSinceEpoch: wall.seconds)
    var line = LogLine("clock: wallclock ")
    for b in XlFormat.dateTime(year: UInt32(date.year), month: UInt32(date.month), day: UInt32(date.day),
                               hour: UInt32(date.hour), minute: UInt32(date.minute), second: UInt32(date.second)) { line.append(byte: b) }
    line.append(" UTC (shared_info wallclock plus system time)")
    console.print(line)
    for i in 1...rounds {
        let deadline = previous + period
        let before = Clock.ticks
        _ = GuestTime.setTimer(deadline)
        GuestEvents.wait { Clock.ticks > before }
        let now = GuestTime.now()
        let late = now >= deadline ? now - deadline : 0
        let ok = now >= deadline && late < period           // never early, and never a whole period late
        if ok { good += 1 }
        console.print("clock: tick \(i) at \(now / 1000) us, \(now >= deadline ? "on time" : "EARLY"), \(late / 1000) us after the deadline")
        previous = deadline
    }
    console.print("clock: \(good) of \(rounds) timer events at or just after their deadlines")
    StartOfDay.shutdown(good == rounds ? .poweroff : .crash)
}

@_cdecl("guest_trap_dispatch") public func guestTrapDispatch(_ frame: UnsafeMutableRawPointer) { GuestTraps.standard(frame) }
@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
