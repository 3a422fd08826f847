// What one event-channel port is, what an operation on ports answers, and why it refused: the vocabulary of the event-channel state machine.
// Values only: nothing here may change a port or touch shared_info (EventChannelSystem and TwoLevelEvents do).

import PVABI

/// The state of one port of one domain. Port 0 is reserved and always reads `.free`, but no
/// operation ever allocates it.
public enum EventChannelState: Equatable, Sendable {
    /// Not in use; the lowest free port is what the next bind or allocation takes.
    case free
    /// Allocated and waiting for domain `remote` to bind to it (bind_interdomain).
    case unbound(remote: UInt16)
    /// Connected to `remotePort` of `remoteDomain`, whose port points back here.
    case interdomain(remoteDomain: UInt16, remotePort: UInt32)
    /// Raised by the hypervisor for a virtual IRQ.
    case virq(UInt32)
    /// Raised by the domain itself (send on this port) for VCPU `vcpu`.
    case ipi(vcpu: UInt32)
    /// Raised by a physical IRQ line.
    case pirq(UInt32)
}

/// One port: its state and the VCPU its events are delivered to.
public struct EventChannel: Equatable, Sendable {
    public var state: EventChannelState
    /// The VCPU whose evtchn_pending_sel and upcall are raised. 0 unless bound otherwise
    /// (IPI and per-VCPU VIRQ ports at bind time, other ports with bind_vcpu); reset to 0 when freed.
    public var notifyVCPU: UInt32

    public static let free = EventChannel(state: .free, notifyVCPU: 0)

    public init(state: EventChannelState, notifyVCPU: UInt32) {
        self.state = state
        self.notifyVCPU = notifyVCPU
    }
}

/// The port whose pending bit must be set in a domain's shared_info, and the VCPU to raise.
public struct EventTarget: Equatable, Sendable {
    public var domain: UInt16
    public var port: UInt32
    public var vcpu: UInt32

    public init(domain: UInt16, port: UInt32, vcpu: UInt32) {
        self.domain = domain
        self.port = port
        self.vcpu = vcpu
    }
}

/// What EVTCHNOP_status reports about a port.
public struct EventChannelStatus: Equatable, Sendable {
    public var state: EventChannelState
    /// The VCPU the port notifies.
    public var vcpu: UInt32

    public init(state: EventChannelState, vcpu: UInt32) {
        self.state = state
        self.vcpu = vcpu
    }

    /// EVTCHNSTAT_* for `state`.
    public var code: EventChannelStatusCode {
        switch state {
        case .free: return .closed
        case .unbound: return .unbound
        case .interdomain: return .interdomain
        case .virq: return .virq
        case .ipi: return .ipi
        case .pirq: return .pirq
        }
    }
}

/// Why an event-channel operation was refused: the errno the guest sees and a sentence for the log.
/// A refused operation changed nothing.
public struct EventChannelRefusal: Error, Sendable {
    public let error: XenError
    public let reason: StaticString

    public init(_ error: XenError, _ reason: StaticString) {
        self.error = error
        self.reason = reason
    }
}
