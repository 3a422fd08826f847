// DomainLife.swift: the transitions of a domain's life that take it off the CPU: stop (shutdown
// or crash) and dom0's destroy (block is Scheduler.block, which reads the clock once). Picking who runs next is the Scheduler's, loading a
// domain onto the CPU is ContextSwitch's. Nothing here returns to the code that asked for a switch.

import ApusCore
import PVABI

enum DomainLife {
    static func stop(_ d: Domain, _ state: DomainState) -> Never {
        Runstates.account(d.vcpu, now: SystemTime.nanoseconds())
        d.state = state
        if case .shutdown(let reason) = state { Log.info("d\(d.id) shut down: \(reason.name)") }
        Scheduler.remove(d)
        for v in d.vcpus { v.timerDeadline = 0; v.periodicNext = 0 }
        if Domains.isRunning(d) { Scheduler.leave(d) }
        if d.id == 0 {
            TestHooks.dom0Stopping()
            MemoryTeardown.run(d)
            TestHooks.domainStopped(d)
            if state == .shutdown(.reboot) { Power.reboot() }
            Log.info("dom0 has stopped; powering off")
            Power.off()
        }
        // A domU waits for dom0 to reap it (getdomaininfo, then destroydomain).
        if let dom0 = Domains.byID(0) { Events.raiseVirq(dom0, Virq.domainException) }
        TestHooks.domainStopped(d)
        Scheduler.runNext()
    }

    /// dom0's destroydomain: the memory goes back, the event channels close, the id is free.
    static func destroy(_ d: Domain) {
        if d.isAlive {
            Runstates.account(d.vcpu, now: SystemTime.nanoseconds())
            Scheduler.remove(d)
            for v in d.vcpus { v.timerDeadline = 0; v.periodicNext = 0 }
            d.state = .crashed
        }
        MemoryTeardown.run(d)
        FPU.forget(d)
        SystemCallGate.forget(d)
        PhysicalIRQs.domainGone(d.id)
        Events.change { $0.removeDomain(d.id) }
        d.state = .dead
        d.releaseHypervisorMemory()
        Domains.remove(d)
    }

    /// Keeps the running guest's registers (hypercall result in EAX) for when it runs again.
    static func save(_ d: Domain, result: Int32) {
        d.vcpu.save(from: ContextSwitch.guestFrame)
        d.vcpu.saved.eax = UInt32(bitPattern: result)
    }
}
