// EventChannelOp.swift: event_channel_op (32) acted on: ApusCore's EventChannelRequest decodes the
// guest's struct, EventChannelSystem decides what is allowed, and the OUT fields go back to the
// ranges the decoder produced. This file only acts; it never names a guest address itself.

import ApusCore
import PVABI

enum EventChannelHypercall {
    /// EVTCHNOP_send, the command guests make most (every notification of a ring), has its own entry
    /// from the hypercall stub (apus_event_send, TrapEntry.swift), with `send` inlined there; the
    /// table meets it only inside a multicall and calls it out of line (`sendCall`), so the table
    /// no longer carries its registers (inlined, they made it spill on every hypercall). The other
    /// commands go through the general decoder.
    @_transparent
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        if a.a1 == EventChannelOp.send.rawValue { return .value(sendCall(a, d)) }
        return decodeAndRun(a, d)
    }

    /// The send as the table calls it (a multicall entry).
    @inline(never)
    static func sendCall(_ a: HypercallArguments, _ d: Domain) -> Int32 {
        send(a, d)
    }

    /// The send's EAX: 0, or a negated errno whose refusal this call has already logged (as the
    /// table logs a `.refused` outcome). A register-sized answer: the outcome enum came back
    /// through memory. The send reads the caller's port view (EventPortView), not the system's tables.
    @_transparent
    static func send(_ a: HypercallArguments, _ d: Domain) -> Int32 {
        let memory = RunningGuestMemory()
        switch EventChannelRequest.decodeSend(a, load: { memory.load32($0) }) {
        case .failure(let refusal): return refusedValue(d, refusal.error, refusal.reason)
        case .success(let port): return send(port: port, d)
        }
    }

    @inline(__always)
    static func send(port: UInt32, _ d: Domain) -> Int32 {
        // Port 0 (never bound; its record always reads free) is refused by the rule and answered in `refused`.
        if port == d.consolePort && port != 0 && !d.privileged && !d.consoleRingInUse { noteConsoleRing(d) }
        d.eventsSent &+= 1
        if let why = Events.send(from: d, port: port) { return refused(d, port, why) }
        return 0
    }

    /// A refused send's EAX: its errno and sentence are built and logged here, off the hot path.
    @inline(never)
    static func refused(_ d: Domain, _ port: UInt32, _ why: EventSendRefusal) -> Int32 {
        // Port 0: Mini-OS notifies it when it has no console channel. Xen answers -EINVAL; so do we,
        // without a log line per console write, and it is not counted as an event sent.
        if port == 0 {
            d.eventsSent &-= 1
            return XenError.EINVAL.negated
        }
        let refusal = why.refusal
        return refusedValue(d, refusal.error, refusal.reason)
    }

    /// Logs a refusal of event_channel_op as the table does for `.refused`, and gives EAX for it.
    @inline(never)
    static func refusedValue(_ d: Domain, _ error: XenError, _ reason: StaticString) -> Int32 {
        Hypercalls.logRefusal(d, Hypercall.eventChannelOp.rawValue, error, reason)
        return error.negated
    }

    /// A domU's first notification of its console ring: from now on dom0's backend prints the ring.
    static func noteConsoleRing(_ d: Domain) {
        d.consoleRingInUse = true
        d.consoleRingPrinted = Machine.memory.load32(UInt64(d.consoleMFN) << 12 | UInt64(ConsoleInterfaceLayout.outputProducerOffset)) ?? 0
        Log.domainLineEnd(d.id)
        Log.info("d\(d.id): console: the domain uses its console ring: dom0's backend prints it after the \(d.consoleRingPrinted) bytes already printed from console_io")
    }

    @inline(never)
    static func decodeAndRun(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let request: EventChannelRequest
        switch EventChannelRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(let r): request = r
        }
        func out(_ value: UInt32, _ range: GuestRange) -> HypercallOutcome {
            memory.write32(value, to: range) ? .ok : .refused(.EFAULT, "event channel argument is not writable guest memory")
        }
        func resolve(_ id: UInt16) -> UInt16 { id == SpecialDomainID.selfID ? d.id : id }
        do throws(EventChannelRefusal) {
            switch request {
            case .allocUnbound(let dom, let remote, let portOut):
                let port = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.allocUnbound(caller: d.id, domain: resolve(dom), remote: resolve(remote)) }
                return out(port, portOut)
            case .bindInterdomain(let remote, let remotePort, let localOut):
                let (local, pending) = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.bindInterdomain(caller: d.id, remoteDomain: resolve(remote), remotePort: remotePort) }
                Events.deliver(pending)
                return out(local, localOut)
            case .bindVirq(let virq, let vcpu, let portOut):
                let port = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.bindVirq(caller: d.id, virq: virq, vcpu: vcpu) }
                return out(port, portOut)
            case .bindIPI(let vcpu, let portOut):
                let port = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.bindIPI(caller: d.id, vcpu: vcpu) }
                return out(port, portOut)
            case .bindPirq(let pirq, let willShare, let portOut):
                if let refusal = d.pirqs.bindRefusal(pirq: pirq, lines: d.devices.lines) { return refusal.outcome }
                let port = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.bindPirq(caller: d.id, pirq: pirq) }
                if let refusal = PhysicalIRQs.bind(d, pirq: pirq, willShare: willShare, port: port) {
                    try? Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.close(caller: d.id, port: port) }
                    return refusal.outcome
                }
                return out(port, portOut)
            case .close(let port):
                let closing = Events.system.state(domain: d.id, port: port)
                try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.close(caller: d.id, port: port) }
                if case .pirq(let pirq)? = closing { PhysicalIRQs.unbind(d.id, pirq: pirq) }
                if let fifo = d.fifo {
                    FifoDelivery.closed(fifo, port: port)
                } else {
                    var page = d.eventPage
                    TwoLevelEvents.clearPending(&page, port: port)
                }
                return .ok
            case .send(let port):
                return .value(send(port: port, d))
            case .unmask(let port):
                let vcpu = try Events.system.unmaskVCPU(caller: d.id, port: port)
                if let fifo = d.fifo {
                    FifoDelivery.unmask(d, fifo, port: port, vcpu: vcpu)
                    return .ok
                }
                // As Xen's evtchn_2l_unmask: a re-raised port marks its vCPU's events pending and kicks it
                // (vcpu_mark_events_pending), so a vCPU blocked waiting for it is woken.
                var page = d.eventPage
                if TwoLevelEvents.unmask(&page, port: port, vcpu: vcpu) { Events.wake(d, vcpu: vcpu) }
                return .ok
            case .status(let dom, let port, let range):
                let status = try Events.system.status(caller: d.id, domain: resolve(dom), port: port)
                var block = EventChannelStatusOut()
                block.set(status: status.code, vcpu: status.vcpu)
                switch status.state {
                case .unbound(let remote): block.set(remoteDomain: remote)
                case .interdomain(let rd, let rp): block.set(remoteDomain: rd); block.set(remotePort: rp)
                case .virq(let v): block.set(irq: v)
                case .pirq(let p): block.set(irq: p)
                default: break
                }
                return memory.write(block.bytes, to: range) ? .ok : .refused(.EFAULT, "evtchn_status is not writable guest memory")
            case .bindVCPU(let port, let vcpu):
                try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.bindVCPU(caller: d.id, port: port, vcpu: vcpu) }
                return .ok
            case .fifo(let fifo):
                return FifoEventChannelHypercall.run(fifo, d)
            case .reset(let dom):
                let target = resolve(dom)
                let closed = try Events.change { (s: inout EventChannelSystem) throws(EventChannelRefusal) in try s.reset(caller: d.id, domain: target) }
                PhysicalIRQs.domainGone(target)
                guard let t = Domains.byID(target) else { return .ok }
                // As Xen's evtchn_reset: a FIFO domain is back on the 2-level ABI, its windows and frames given back.
                if t.fifo != nil {
                    FifoEventChannelHypercall.release(t, why: "EVTCHNOP_reset")
                } else {
                    // As Xen's evtchn_free for each port it closes: the port's pending bit goes, so a
                    // port bound again later does not start out pending. Mask bits stay the guest's.
                    var page = t.eventPage
                    for port in closed { TwoLevelEvents.clearPending(&page, port: port) }
                }
                return .ok
            }
        } catch {
            return .refused(error.error, error.reason)
        }
    }
}
