// DomainLife.swift: the transitions of a domain's life that take it off the CPU (block,
// shutdown, crash), and the scheduler glue: ApusCore's CreditScheduler picks, this file switches
// (CR3, descriptor shadows, FPU state, time record, registers at the top of the ring-0 stack)
// and preempts when a slice ends. Nothing here returns to the code that asked for a switch.

import ApusCore
import PVABI

@_extern(c, "enter_guest") func enter_guest(_ frame: UnsafeMutableRawPointer)

enum DomainLife {
    /// The frame every trap from a guest leaves at the top of the ring-0 stack.
    static var guestFrame: UnsafeMutablePointer<TrapFrame>! = nil

    /// sched_op block: off the CPU until an event is pending. Returns at once if one already is.
    static func block(_ d: Domain) {
        if Events.upcallPending(d) { return }
        save(d, result: 0)
        Runstates.account(d, now: SystemTime.nanoseconds())
        d.state = .blocked
        Scheduler.credit.block(d.id)
        Scheduler.runNext()
    }

    static func stop(_ d: Domain, _ state: DomainState) -> Never {
        Runstates.account(d, now: SystemTime.nanoseconds())
        d.state = state
        if case .shutdown(let reason) = state { Log.info("d\(d.id) shut down: \(reason.name)") }
        Scheduler.credit.remove(d.id)
        d.timerDeadline = 0
        if Domains.current === d { Scheduler.leave(d) }
        if d.id == 0 {
            if TestVerdict.scenario == .bench, Scheduler.switches > 1 {
                Log.info("bench: hv domain_switch \(Scheduler.switchTicks / (Scheduler.switches - 1))")
            }
            MemoryTeardown.run(d)
            TestVerdict.domainStopped(d)
            Log.info("dom0 has stopped; powering off")
            Power.off()
        }
        // A domU waits for dom0 to reap it (getdomaininfo, then destroydomain).
        if let dom0 = Domains.byID(0) { Events.raiseVirq(dom0, Virq.domainException) }
        TestVerdict.domainStopped(d)
        Scheduler.runNext()
    }

    /// dom0's destroydomain: the memory goes back, the event channels close, the id is free.
    static func destroy(_ d: Domain) {
        if d.isAlive {
            Runstates.account(d, now: SystemTime.nanoseconds())
            Scheduler.credit.remove(d.id)
            d.state = .crashed
        }
        MemoryTeardown.run(d)
        Events.system.removeDomain(d.id)
        d.state = .dead
        d.releaseHypervisorMemory()
        Domains.all.removeAll { $0 === d }
    }

    /// Keeps the running guest's registers (hypercall result in EAX) for when it runs again.
    static func save(_ d: Domain, result: Int32) {
        d.vcpu.saved = guestFrame.pointee
        d.vcpu.saved.eax = UInt32(bitPattern: result)
    }
}

enum Scheduler {
    static var credit = CreditScheduler(capacity: Domains.capacity)
    /// When the running domain got the CPU and when its slice ends (system-time ns).
    static var switchedAt: UInt64 = 0
    static var sliceEnd: UInt64 = 0
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
    /// else deliver a pending event and return.
    static func exit(_ frame: UnsafeMutablePointer<TrapFrame>) {
        guard let d = Domains.current else { return }
        if !d.isRunnable || preemptRequested || SystemTime.nanoseconds() >= sliceEnd {
            d.vcpu.saved = frame.pointee
            runNext()
        }
        Events.injectIfPending(frame, d)
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
                sliceEnd = now + max(decision.sliceNs, 100_000)
                switchTo(d)
            }
            cpu_halt()
            switchStart = cpu_rdtsc()          // time spent idle is not switching time
        }
    }

    static func switchTo(_ d: Domain) -> Never {
        Domains.current = d
        switches &+= 1
        switchedAt = SystemTime.nanoseconds()
        loadCR3(d.hardwarePDPTPhysical)
        GuestGDT.reload(d)
        LocalDescriptorTable.refresh(d)
        FPU.applyTaskSwitched(d)
        SystemTime.publish(d)
        d.vcpu.runstateEntry = switchedAt
        DomainLife.guestFrame.pointee = d.vcpu.saved
        Events.injectIfPending(DomainLife.guestFrame, d)
        if switchStart != 0 { switchTicks &+= cpu_rdtsc() &- switchStart }
        enter_guest(UnsafeMutableRawPointer(DomainLife.guestFrame))
        haltForever()
    }
}

/// Per-domain one-shot timers (set_timer_op, vcpu_op set_singleshot_timer) checked every PIT
/// tick: an expired one raises VIRQ_TIMER with a fresh time record.
enum Timers {
    static func check(now: UInt64) {
        for d in Domains.all where d.timerDeadline != 0 && now >= d.timerDeadline && d.isAlive {
            d.timerDeadline = 0
            SystemTime.publish(d)
            Events.raiseVirq(d, Virq.timer)
        }
    }
}

/// Turns the machine off: ACPI on QEMU's PC machine, then a plain halt.
enum Power {
    static func off() -> Never {
        port_out16(0x604, 0x2000)      // QEMU i440fx/q35 ACPI PM1a control: SLP_EN | S5
        port_out16(0xB004, 0x2000)     // older QEMU and Bochs
        Log.info("power off did not take; halted")
        haltForever()
    }
}

/// A stopped domain gives everything back: the paging core drops every reference its tables,
/// pins, base pointer and descriptor frames held, then every frame returns to the free pool.
enum MemoryTeardown {
    static func run(_ d: Domain) {
        if Domains.current === d { Scheduler.leave(d) }
        LocalDescriptorTable.release(d.ldtFrames)
        d.ldtFrames = []
        for f in d.gdtFrames { Machine.frames.putDescriptorFrame(f, memory: &Machine.memory) }
        d.gdtFrames = []
        let stuck = Machine.frames.teardown(state: &d.memory, memory: &Machine.memory)
        let m2p = pointer(to: UInt32.self, at: AddressMap.m2pWritableStart)
        var returned: UInt32 = 0
        for mfn in d.frames {
            if Machine.frames.release(mfn, from: .domain(d.id)) == .released {
                returned += 1
                m2p[Int(mfn)] = 0xFFFF_FFFF
            }
        }
        d.frames = []
        let free = Machine.frames.freeCount
        if d.id == 0 || TestVerdict.verbose {
            Log.info("d\(d.id): \(returned) frames returned to the free pool (\(UInt32(stuck)) still referenced); \(free) free, \(d.freeFramesBefore) before it was built: \(free == d.freeFramesBefore ? "back to the starting value" : "NOT back to the starting value")")
        }
    }
}
