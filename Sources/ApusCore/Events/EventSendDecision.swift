// EVTCHNOP_send's rule: where an event sent on a port lands, decided without a throw. It must never change a
// port, and never build a refusal's errno and sentence before one is needed (EventChannelSystem.send, the throwing
// form, is this rule spelled out). The hypervisor asks the same rule over the caller's flat port view
// (EventPortView.sendRoute); the property tests hold that form equal to this one.

import PVABI

/// What a send on one of the caller's ports does.
public enum EventSendDecision: Equatable, Sendable {
    /// Mark `target` pending (interdomain: the peer's port; IPI: the port itself).
    case deliver(EventTarget)
    /// An unbound port: the event goes nowhere and the send succeeds, as in Xen.
    case drop
    /// Refused; nothing changed.
    case refuse(EventSendRefusal)
}

/// Why a send was refused, as one byte; its errno and sentence are built only on the error path.
public enum EventSendRefusal: UInt8, Equatable, Sendable {
    case noSuchDomain
    case portOutOfRange
    case portNotInUse
    case raisedByHypervisor

    /// The errno and sentence the guest and the log get.
    public var refusal: EventChannelRefusal {
        switch self {
        case .noSuchDomain: return EventChannelRefusal(.ESRCH, "no such domain")
        case .portOutOfRange: return EventChannelRefusal(.EINVAL, "the port is out of range")
        case .portNotInUse: return EventChannelRefusal(.EINVAL, "the port is not in use")
        case .raisedByHypervisor: return EventChannelRefusal(.EINVAL, "the hypervisor raises this port; the domain cannot send on it")
        }
    }
}

extension EventChannelSystem {
    /// EVTCHNOP_send from `caller` on its `port`. The caller's table and the port's record are read
    /// in place (a copy would retain and release their storage); every check of the throwing form is
    /// made, in the same order, so the same refusal comes back.
    @inlinable @inline(__always)
    public func sendDecision(caller: UInt16, port: UInt32) -> EventSendDecision {
        let index = Int(caller)
        guard index < tables.count, let limit = tables[index]?.portLimit else { return .refuse(.noSuchDomain) }
        guard port != 0, port < limit else { return .refuse(.portOutOfRange) }
        // Records exist for the buckets bound so far; a port above them reads free.
        guard Int(port) < tables[index]!.channels.count else { return .refuse(.portNotInUse) }
        let channel = tables[index]!.channels[Int(port)]
        switch channel.state {
        case .interdomain(let remoteDomain, let remotePort):
            // The peer's record is the source of truth for which of its VCPUs to raise.
            let vcpu = tables[Int(remoteDomain)]!.channels[Int(remotePort)].notifyVCPU
            return .deliver(EventTarget(domain: remoteDomain, port: remotePort, vcpu: vcpu))
        case .ipi:
            return .deliver(EventTarget(domain: caller, port: port, vcpu: channel.notifyVCPU))
        case .unbound:
            return .drop
        case .free:
            return .refuse(.portNotInUse)
        case .virq, .pirq:
            return .refuse(.raisedByHypervisor)
        }
    }
}
