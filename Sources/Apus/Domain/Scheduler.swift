// Scheduler.swift: the glue between ApusCore's CreditScheduler and the CPU: it charges the
// running vCPU, asks the credit scheduler whom to run (its entities are vCPUs: VcpuEntity, a domain's
// weight shared among its active vCPUs: ActiveVcpuShare), preempts
// when a slice ends and idles (interrupts on) while nobody can run. The pick is ApusCore's; this file never reorders it.
// A switch reads the clock once: the TSC value and its system time are passed down, not read again.

import ApusCore
import PVABI

enum Scheduler {
    /// Empty until initialize() at boot: its initial value is constants only (no allocation), so
    /// reading it on every switch, wake and block costs an inline test of the global's token, not a
    /// call to swift_once.
    static var credit = CreditScheduler()
    /// When the running domain got the CPU (system-time ns).
    static var switchedAt: UInt64 = 0
    static var switches: UInt64 = 0
    /// Set when a domain woke: the next exit to a guest asks the scheduler again.
    static var preemptRequested = false
    /// Ticks spent switching (scheduler pick, CR3, descriptor shadows, registers), for make bench.
    static var switchTicks: UInt64 = 0
    static var switchStart: UInt64 = 0
    /// The period's accounting (credit handed out to every active domain, once per 30 ms; Xen runs
    /// it from a timer, csched_acct), timed on its own for make bench: it is not part of a switch.
    static var accountingTicks: UInt64 = 0
    static var accountings: UInt64 = 0

    /// The credit scheduler sized for every domain id; at boot, before the first domain is added.
    static func initialize() {
        credit = CreditScheduler(capacity: VcpuEntity.count(capacity: Domains.capacity))
        pool = VcpuEntityPool(base: Domains.capacity)
    }

    /// The entity ids lent to vCPUs above 0 (empty until initialize()).
    static var pool = VcpuEntityPool(base: 0, count: 0)

    /// The credit scheduler's entity for vCPU `v` of `d` (vCPU 0's is the domain id).
    @inline(__always)
    static func entity(_ d: Domain, _ v: VCPU) -> UInt16 { v.entity }

    /// A built domain's vCPU 0 joins the scheduler.
    static func add(_ d: Domain) {
        _ = credit.add(d.id, weight: d.weight, cap: d.cap, runnable: d.isRunnable(d.vcpus[0]))
    }

    /// VCPUOP_up: `v` joins the scheduler (with an entity from the pool at its first up) in its
    /// domain's group, with the domain's weight: the domain's active vCPUs share it at each period's
    /// accounting (ActiveVcpuShare). False when the pool has none left.
    static func addVCPU(_ d: Domain, _ v: VCPU) -> Bool {
        if v.entity == VCPU.noEntity {
            guard let e = pool.take(domain: d.id, vcpu: v.id) else { return false }
            v.entity = e
        }
        _ = credit.add(entity(d, v), weight: d.weight, cap: d.cap, runnable: d.isRunnable(v), group: d.id)
        return true
    }

    /// VCPUOP_down: `v` leaves the scheduler; from the next accounting the domain's weight is shared
    /// among its other active vCPUs.
    static func removeVCPU(_ d: Domain, _ v: VCPU) {
        credit.remove(entity(d, v))
    }

    /// The domain's weight and cap given to every vCPU of it in the scheduler (putinfo); a vCPU that
    /// is down is not there and gets them at its next up.
    static func setParameters(_ d: Domain) {
        for v in d.vcpus where v.entity != VCPU.noEntity { _ = credit.setParameters(v.entity, weight: d.weight, cap: d.cap) }
    }

    /// How many of `d`'s vCPUs are active (ActiveVcpuShare: runnable, or ran in this period): those
    /// its weight is shared among at the next accounting.
    static func activeVCPUs(_ d: Domain) -> Int {
        var n = 0
        for v in d.vcpus where v.entity != VCPU.noEntity && credit.isActive(v.entity) { n += 1 }
        return n
    }

    /// The domain leaves the scheduler (all its vCPUs).
    static func remove(_ d: Domain) {
        for v in d.vcpus where v.entity != VCPU.noEntity {
            credit.remove(v.entity)
            if v.id != 0 {
                pool.give(v.entity)
                v.entity = VCPU.noEntity
            }
        }
    }

    /// dom0 paused the domain: none of its vCPUs runs.
    static func pause(_ d: Domain) {
        for v in d.vcpus where v.runState != .down { credit.block(entity(d, v)) }
    }

    /// dom0 unpaused it: every runnable vCPU is woken (boosted), and may preempt at the next exit.
    static func unpause(_ d: Domain) {
        for v in d.vcpus where d.isRunnable(v) {
            credit.wake(entity(d, v))
            preemptRequested = true
        }
    }

    /// Charges the running domain for its time on the CPU and takes it off (the idle address space
    /// loaded: the caller may be about to take `d`'s memory apart).
    static func leave(_ d: Domain) {
        charge(d, now: SystemTime.nanoseconds())
        loadCR3(HypervisorPaging.idleCR3)
    }

    /// Charges `d` for its time on the CPU up to `now` and forgets it as the running domain.
    private static func charge(_ d: Domain, now: UInt64) {
        if now > switchedAt {
            credit.account(entity(d, d.vcpu), elapsedNs: now - switchedAt)
            d.cpuTime &+= now - switchedAt
            d.vcpu.cpuTime &+= now - switchedAt
        }
        switchedAt = now
        Domains.running = nil
    }

    /// On the way back to a guest after any trap: switch if it cannot run or a switch was asked
    /// for (an event for another domain, or the timer tick that found its slice over: Interrupts),
    /// else deliver a pending event and return. The common return reads no clock at all.
    @inline(__always)
    static func exit(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        if preemptRequested || !d.isRunnable {
            d.vcpu.save(from: frame)
            runNext()
        }
        Events.injectIfPending(frame, d)
    }

    /// When the running domain's slice ends, as a TSC value (the form the timer tick compares).
    static var sliceEndTSC: UInt64 = 0

    /// Ends the running domain's slice `ns` nanoseconds after TSC value `tsc`.
    static func endSlice(at tsc: UInt64, afterNs ns: UInt64) {
        sliceEndTSC = tsc &+ sliceTicks(min(ns, 1_000_000_000))
    }

    /// The last two slice lengths converted to TSC ticks, and what they converted to: most slices are
    /// the boost slice or the timeslice, so a switch usually skips the conversion's 64-bit arithmetic.
    /// (The scale it uses is calibrated once at boot, before the first slice.)
    private static var sliceNs: (UInt64, UInt64) = (.max, .max)
    private static var sliceTicksFor: (UInt64, UInt64) = (0, 0)

    @inline(__always)
    private static func sliceTicks(_ ns: UInt64) -> UInt64 {
        if ns == sliceNs.0 { return sliceTicksFor.0 }
        if ns == sliceNs.1 { return sliceTicksFor.1 }
        let ticks = SystemTime.ticks(nanoseconds: ns)
        sliceNs = (ns, sliceNs.0)
        sliceTicksFor = (ticks, sliceTicksFor.0)
        return ticks
    }

    /// sched_op block and poll: `d` (running, its registers in the guest frame) is off the CPU until
    /// an event is pending. Returns at once, to the hypercall's caller, when one already is.
    static func block(_ d: Domain) {
        if Events.upcallPending(d) { return }
        DomainLife.save(d, result: 0)
        let tsc = cpu_rdtsc()
        let now = SystemTime.at(tsc: tsc)
        Runstates.account(d.vcpu, now: now)
        d.vcpu.runState = .blocked
        preemptRequested = false
        switchStart = tsc
        // `d` is the running domain (it made the call): off the CPU, then its block, charge and the
        // pick in one call to the credit scheduler.
        let elapsed = stopRunning(now: now)
        run(credit.blockAndPick(entity(d, d.vcpu), elapsedNs: elapsed, now: now), tsc: tsc, now: now)
    }

    /// Takes the running domain (if any) off the CPU at `now`: its CPU time grows by what it ran since
    /// switchedAt, which is returned (0 when none ran or no time passed: nothing to charge).
    @inline(__always)
    private static func stopRunning(now: UInt64) -> UInt64 {
        var elapsed: UInt64 = 0
        if let running = Domains.running {
            running._withUnsafeGuaranteedRef { d in
                if now > switchedAt {
                    elapsed = now - switchedAt
                    d.cpuTime &+= elapsed
                    d.vcpu.cpuTime &+= elapsed
                }
            }
            Domains.running = nil
        }
        switchedAt = now
        return elapsed
    }

    /// Runs the next domain the credit scheduler picks; halts (interrupts on) while none can run.
    static func runNext() -> Never {
        let tsc = cpu_rdtsc()
        runNext(tsc: tsc, now: SystemTime.at(tsc: tsc))
    }

    /// runNext with the clock the caller read when it stopped the running domain (TSC and system time).
    static func runNext(tsc: UInt64, now: UInt64) -> Never {
        preemptRequested = false
        switchStart = tsc
        let leaving = Domains.running.map { $0._withUnsafeGuaranteedRef { entity($0, $0.vcpu) } }
        let elapsed = stopRunning(now: now)
        // The charge and the pick in one call; nil when a period ended (its accounting first).
        run(credit.chargeAndPick(elapsed > 0 ? leaving : nil, elapsedNs: elapsed, now: now), tsc: tsc, now: now)
    }

    /// Runs what the credit scheduler decided (nil: a period ended, its accounting and a pick first);
    /// halts (interrupts on) and asks again while nobody can run.
    private static func run(_ first: SchedulingDecision?, tsc: UInt64, now: UInt64) -> Never {
        var tsc = tsc, now = now
        var decision = first
        while true {
            let chosen: SchedulingDecision
            if let decision { chosen = decision } else {
                accountPeriods(now: now)
                chosen = credit.pick(now: now)
            }
            // Borrowed from the id table, not retained: `Domains.all` keeps it, and switchTo never returns.
            if let id = chosen.domain {
                if let (domainID, vcpuID) = pool.owner(id), let chosenDomain = Domains.unretainedByID(domainID),
                   chosenDomain._withUnsafeGuaranteedRef({ Int(vcpuID) < $0.vcpus.count && $0.isRunnable($0.vcpus[Int(vcpuID)]) }) {
                    endSlice(at: tsc, afterNs: max(chosen.sliceNs, 100_000))
                    chosenDomain._withUnsafeGuaranteedRef { d in
                        if vcpuID != d.vcpu.id { d.makeCurrent(d.vcpus[Int(vcpuID)]) }
                        switchTo(d, tsc: tsc, now: now)
                    }
                }
            }
            loadCR3(HypervisorPaging.idleCR3)
            // Idle: nobody can run until an interrupt. Dirty free frames are scrubbed first (in
            // bounded steps that let interrupts in), else the CPU halts.
            if !IdleScrub.step() { cpu_halt() }
            tsc = cpu_rdtsc()
            now = SystemTime.at(tsc: tsc)
            switchStart = tsc                  // time spent idle is not switching time
            decision = credit.chargeAndPick(nil, elapsedNs: 0, now: now)
        }
    }

    /// The accounting of every period that ended by `now`, timed apart from the switch it delays.
    private static func accountPeriods(now: UInt64) {
        let start = cpu_rdtsc()
        credit.tick(now: now)
        let spent = cpu_rdtsc() &- start
        accountingTicks &+= spent
        accountings &+= 1
        switchStart &+= spent
    }

    /// Gives the CPU to `d` (dom0's first run).
    static func switchTo(_ d: Domain) -> Never {
        let tsc = cpu_rdtsc()
        switchTo(d, tsc: tsc, now: SystemTime.at(tsc: tsc))
    }

    /// Gives the CPU to `d` from `now` (system time at TSC `tsc`), counting the switch and the ticks it took.
    static func switchTo(_ d: Domain, tsc: UInt64, now: UInt64) -> Never {
        Domains.running = Unmanaged.passUnretained(d)
        switches &+= 1
        switchedAt = now
        DebugRegisters.switchTo(d)
        ContextSwitch.load(d, tsc: tsc, now: now)
        if switchStart != 0 { switchTicks &+= cpu_rdtsc() &- switchStart }
        ContextSwitch.resume()
    }
}
