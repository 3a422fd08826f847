// Scheduler.swift: the glue between ApusCore's CreditScheduler and the CPU: it charges the
// running domain, asks the credit scheduler whom to run, preempts when a slice ends and idles
// (interrupts on) while nobody can run. The pick is ApusCore's; this file never reorders it.

import ApusCore
import PVABI

enum Scheduler {
    static var credit = CreditScheduler(capacity: Domains.capacity)
    /// When the running domain got the CPU (system-time ns).
    static var switchedAt: UInt64 = 0
    static var switches: UInt64 = 0
    /// Set when a domain woke: the next exit to a guest asks the scheduler again.
    static var preemptRequested = false
    /// Ticks spent switching (scheduler pick, CR3, descriptor shadows, registers), for make bench.
    static var switchTicks: UInt64 = 0
    static var switchStart: UInt64 = 0

    static func add(_ d: Domain) {
        _ = credit.add(d.id, weight: d.weight, cap: d.cap, runnable: d.isRunnable)
    }

    /// Charges the running domain for its time on the CPU and takes it off.
    static func leave(_ d: Domain) {
        let now = SystemTime.nanoseconds()
        if now > switchedAt {
            credit.account(d.id, elapsedNs: now - switchedAt)
            d.cpuTime &+= now - switchedAt
        }
        switchedAt = now
        Domains.current = nil
        loadCR3(HypervisorPaging.idleCR3)
    }

    /// On the way back to a guest after any trap: switch if its slice is over or it cannot run,
    /// else deliver a pending event and return. The slice end is compared in TSC ticks, so the
    /// common return reads the clock once and does no time arithmetic.
    @inline(__always)
    static func exit(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        if !d.isRunnable || preemptRequested || cpu_rdtsc() >= sliceEndTSC {
            d.vcpu.saved = frame.pointee
            runNext()
        }
        Events.injectIfPending(frame, d)
    }

    /// When the running domain's slice ends, as a TSC value (the only form the exit path reads).
    static var sliceEndTSC: UInt64 = 0

    /// Ends the running domain's slice `ns` nanoseconds from now.
    static func endSlice(afterNs ns: UInt64) {
        sliceEndTSC = cpu_rdtsc() &+ min(ns, 1_000_000_000) * SystemTime.tscKHz / 1_000_000
    }

    /// Runs the next domain the credit scheduler picks; halts (interrupts on) while none can run.
    static func runNext() -> Never {
        preemptRequested = false
        switchStart = cpu_rdtsc()
        if let d = Domains.current { leave(d) }
        while true {
            let now = SystemTime.nanoseconds()
            credit.tick(now: now)
            let decision = credit.pick(now: now)
            if let id = decision.domain, let d = Domains.byID(id), d.isRunnable {
                endSlice(afterNs: max(decision.sliceNs, 100_000))
                switchTo(d)
            }
            if !IdleScrub.step() { cpu_halt() }   // dirty free frames first, else halt
            switchStart = cpu_rdtsc()          // time spent idle is not switching time
        }
    }

    /// Gives the CPU to `d`, counting the switch and the ticks it took.
    static func switchTo(_ d: Domain) -> Never {
        Domains.current = d
        switches &+= 1
        switchedAt = SystemTime.nanoseconds()
        DebugRegisters.switchTo(d)
        ContextSwitch.load(d, at: switchedAt)
        if switchStart != 0 { switchTicks &+= cpu_rdtsc() &- switchStart }
        ContextSwitch.resume()
    }
}
