// Events.swift: the glue between ApusCore's event-channel state machine and the running system:
// marking a port pending in the target's shared_info (2-level ABI) or its FIFO queues (FifoDelivery,
// for a domain that switched ABI), waking a blocked domain, and
// entering the guest's event callback when it returns with events unmasked. Policy about who may
// bind or send lives in ApusCore; this file never decides it.

import ApusCore
import PVABI

enum Events {
    /// The state machine over every domain's ports. Changed only through `change`, which then gives
    /// every domain a fresh view of its records (Domain.eventPorts) for the send path.
    private(set) static var system = EventChannelSystem(domainCapacity: Domains.capacity)

    /// Changes the system, then refreshes every domain's port view: a change may move or free a
    /// domain's records (a bucket added, a table removed), so no view taken before it is read after.
    /// Binds, closes and domain builds and teardowns come here; sends never do.
    static func change<R, E: Error>(_ body: (inout EventChannelSystem) throws(E) -> R) throws(E) -> R {
        defer { refreshViews() }
        return try body(&system)
    }

    /// Every domain in `Domains.all` gets its view (absent when the system no longer has it). A domain
    /// not there yet (being built) gets its own when it joins (Domains.insert); one leaving gets none.
    static func refreshViews() {
        for d in Domains.all { d.eventPorts = system.portView(d.id) }
    }

    /// Marks `target` pending; wakes its domain when an upcall is now needed.
    /// The domain is borrowed from the id table, not retained (`Domains.all` keeps it alive).
    static func deliver(_ target: EventTarget) {
        guard let d = Domains.unretainedByID(target.domain) else { return }
        d._withUnsafeGuaranteedRef { mark(target, in: $0) }
    }

    /// EVTCHNOP_send from `d`, inlined into the hypercall table: ApusCore's rule is asked over `d`'s
    /// port view (EventPortView, held equal to EventChannelSystem.sendDecision) and answers without a throw. A target in `d` itself (a loopback
    /// channel, an IPI) is marked without looking `d` up again. Nil when the send succeeded.
    @inline(__always)
    static func send(from d: Domain, port: UInt32) -> EventSendRefusal? {
        // The caller's records through its view (two loads from `d`); a loopback channel's peer is `d`
        // itself, and another domain's view is borrowed from the id table.
        let route = d.eventPorts.sendRoute(caller: d.id, port: port) { peer in
            Domains.unretainedByID(peer)?._withUnsafeGuaranteedRef { $0.eventPorts } ?? .absent
        }
        switch route {
        case .deliverOwn(let port):
            // The VCPU stays in the port's record until an upcall may be due (markOwn).
            markOwn(port, in: d)
            return nil
        case .deliver(let target):
            deliver(target)
            return nil
        case .drop:
            return nil
        case .refuse(let why):
            return why
        }
    }

    /// `port` pending in the sender `d` itself (a loopback channel, an IPI), as `mark` does: the VCPU is
    /// read from the port's record only when the pending bit was clear.
    @inline(__always)
    static func markOwn(_ port: UInt32, in d: Domain) {
        guard d.isAlive else { return }
        d.eventsReceived &+= 1
        if let fifo = d.fifo { return FifoDelivery.raise(d, fifo, port: port, vcpu: d.eventPorts.notifyVCPU(port)) }
        var bitmap = SharedInfoPage(d.sharedInfo)
        guard TwoLevelEvents.setPending(&bitmap, port: port) else { return }
        var page = d.eventPage
        let vcpu = d.eventPorts.notifyVCPU(port)
        if TwoLevelEvents.raisePending(&page, port: port, vcpu: vcpu) { wake(d, vcpu: vcpu) }
    }

    /// `target.port` pending in `d` (which is `target.domain`), if `d` can still take events.
    @inline(__always)
    static func mark(_ target: EventTarget, in d: Domain) {
        guard d.isAlive else { return }
        d.eventsReceived &+= 1
        if let fifo = d.fifo { return FifoDelivery.raise(d, fifo, port: target.port, vcpu: target.vcpu) }
        // markPending in its two halves: a port already pending (the common case of a busy ring) needs
        // only its bit, reached from shared_info's base; the whole page view is built when more is due.
        var bitmap = SharedInfoPage(d.sharedInfo)
        guard TwoLevelEvents.setPending(&bitmap, port: target.port) else { return }
        var page = d.eventPage
        if TwoLevelEvents.raisePending(&page, port: target.port, vcpu: target.vcpu) { wake(d, vcpu: target.vcpu) }
    }

    static func raiseVirq(_ d: Domain, _ virq: UInt32, vcpu: UInt32 = 0) {
        if let target = system.virqTarget(domain: d.id, virq: virq, vcpu: vcpu) { deliver(target) }
    }

    /// An event for vCPU `vcpu` of `d`: wakes it if it waits for one.
    static func wake(_ d: Domain, vcpu: UInt32) {
        guard Int(vcpu) < d.vcpus.count else { return }
        let v = d.vcpus[Int(vcpu)]
        guard v.runState == .blocked, d.isAlive else { return }
        Runstates.account(v, now: SystemTime.nanoseconds())
        v.runState = .runnable
        // A paused domain is not queued (pause took its vCPUs off the queue; unpause queues the runnable
        // ones): an event for it must not put one back, or the scheduler picks a vCPU that may not run.
        guard !d.paused else { return }
        Scheduler.credit.wake(Scheduler.entity(d, v))
        // Like Xen's tickle: a woken domain may preempt whoever runs, at the next exit.
        Scheduler.preemptRequested = true
    }

    /// On the way back to the running guest: if it has an event waiting and events unmasked,
    /// enter its event callback (Xen's bounce with events masked), as on a real interrupt.
    /// Nothing deliverable is the common case: the two vcpu_info bytes (pending, mask) are read
    /// here, inline in every exit.
    @inline(__always)
    static func injectIfPending(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        let info = d.vcpuInfo
        if info.load(fromByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self) != 0
            && info.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) == 0 {
            inject(frame, d)
        }
    }

    @inline(never)
    static func inject(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        guard d.vcpu.eventCallback.isSet else { return }
        GuestFaults.enter(frame, d, cs: d.vcpu.eventCallback.cs, eip: d.vcpu.eventCallback.eip, errorCode: nil,
                          eipAdvance: 0, masksEvents: true, what: "event")
    }

    /// Whether `port` of `d` is pending on whichever ABI it uses (SCHEDOP_poll).
    static func isPending(_ d: Domain, port: UInt32) -> Bool {
        if let fifo = d.fifo { return FifoDelivery.isPending(fifo, port: port) }
        return port < UInt32(SharedInfoLimits.twoLevelEventChannels) && TwoLevelEvents.isPending(d.eventPage, port: port)
    }

    /// Whether the domain has an upcall pending (used by block and poll).
    static func upcallPending(_ d: Domain) -> Bool {
        d.vcpuInfo.load(fromByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self) != 0
    }
}
