// EVTCHNOP_send's rule over one domain's port records read in place: a flat window (base, records, limit) that
// the hypervisor keeps in the Domain, so the send reaches the caller's records with two loads instead of the
// system's array of optional tables. The rule is EventChannelSystem.sendDecision's, check for check; host property
// tests hold the two equal. A view only reads: it must never change a port, and it is valid only until the system's
// next change (the hypervisor takes fresh views after every change, Events.change).

import PVABI

/// One domain's ports as the send path reads them. `count` records start at `base` (the buckets bound so
/// far, as EventChannelTable.channels); ports from `count` up to `limit` read free. An absent domain has
/// no records and limit 0.
public struct EventPortView {
    @usableFromInline let base: UnsafePointer<EventChannel>?
    /// Records at `base`: never above `limit`, and 0 exactly when `base` is nil.
    public let count: UInt32
    /// The table's portLimit; 0 when the domain has no table.
    public let limit: UInt32

    /// The view of a domain without a table: every send from it is refused (ESRCH).
    public static var absent: EventPortView { EventPortView(base: nil, count: 0, limit: 0) }

    @usableFromInline init(base: UnsafePointer<EventChannel>?, count: UInt32, limit: UInt32) {
        self.base = count == 0 ? nil : base
        self.count = base == nil ? 0 : count
        self.limit = limit
    }

    /// Where `port`'s record is, `port` below `count` (checked: a violation stops, as an array's bounds do).
    @inlinable @inline(__always)
    func recordAddress(_ port: UInt32) -> UnsafePointer<EventChannel> {
        precondition(port < count, "event port beyond its records")
        return base.unsafelyUnwrapped + Int(bitPattern: UInt(port))
    }

    /// The VCPU `port`'s events raise (its record's notifyVCPU); `port` must be below `count` (checked).
    @inlinable @inline(__always)
    public func notifyVCPU(_ port: UInt32) -> UInt32 {
        recordAddress(port).pointee.notifyVCPU
    }

    /// EVTCHNOP_send from `caller` (whose view this is) on its `port`: EventChannelSystem.sendDecision's
    /// answer. The peer of an interdomain port is the caller itself for a loopback channel (read here, no
    /// lookup); otherwise `peer` gives the peer's view. The peer's record must exist (the system's invariant:
    /// both ends name each other); a violation stops, as the system's own lookup does.
    @inlinable @inline(__always)
    public func sendDecision(caller: UInt16, port: UInt32, peer: (UInt16) -> EventPortView) -> EventSendDecision {
        switch sendRoute(caller: caller, port: port, peer: peer) {
        case .deliverOwn(let port):
            return .deliver(EventTarget(domain: caller, port: port, vcpu: recordAddress(port).pointee.notifyVCPU))
        case .deliver(let target):
            return .deliver(target)
        case .drop:
            return .drop
        case .refuse(let why):
            return .refuse(why)
        }
    }

    /// sendDecision with the VCPU of a target in the caller itself left in its record: the send path
    /// reads it only when the port's pending bit was clear (a port already pending raises nothing).
    /// Every check is made here, the existence of that record included.
    @inlinable @inline(__always)
    public func sendRoute(caller: UInt16, port: UInt32, peer: (UInt16) -> EventPortView) -> EventSendRoute {
        // Records exist for the buckets bound so far (count <= limit): the fast test. What fails it is told
        // apart in the system's order: no table, port 0 or beyond the limit, a port above the records (free).
        // Port 0 has a record, always free (no operation takes or binds it), so it is told apart there.
        guard port < count else { return refusal(port) }
        let record = base.unsafelyUnwrapped + Int(bitPattern: UInt(port))
        switch record.pointee.state {
        case .interdomain(let remoteDomain, let remotePort):
            // The peer's record is the source of truth for which of its VCPUs to raise.
            if remoteDomain == caller {
                precondition(remotePort < count, "event port beyond its records")
                return .deliverOwn(port: remotePort)
            }
            let vcpu = peer(remoteDomain).recordAddress(remotePort).pointee.notifyVCPU
            return .deliver(EventTarget(domain: remoteDomain, port: remotePort, vcpu: vcpu))
        case .ipi:
            return .deliverOwn(port: port)
        case .unbound:
            return .drop
        case .free:
            return refusal(port)
        case .virq, .pirq:
            return .refuse(.raisedByHypervisor)
        }
    }

    /// Why a port without a record, or with a free one (port 0's always is), is refused, in the system's
    /// order of checks.
    @usableFromInline @inline(never)
    func refusal(_ port: UInt32) -> EventSendRoute {
        if limit == 0 { return .refuse(.noSuchDomain) }
        if port == 0 || port >= limit { return .refuse(.portOutOfRange) }
        return .refuse(.portNotInUse)
    }
}

/// EventSendDecision with a target in the caller itself told apart, its VCPU still in its record (EventPortView.sendRoute).
public enum EventSendRoute {
    /// Mark the caller's own `port` pending (an IPI, a loopback channel); the VCPU to raise is that
    /// port's record's notifyVCPU (the record exists: checked).
    case deliverOwn(port: UInt32)
    /// Mark `target` pending in another domain.
    case deliver(EventTarget)
    case drop
    case refuse(EventSendRefusal)
}

extension EventChannelSystem {
    /// Domain `id`'s ports as a view for the send path: valid until the next change of this system (a change
    /// may move or free the records), so the holder takes a fresh one after every change.
    public func portView(_ id: UInt16) -> EventPortView {
        guard Int(id) < tables.count, let limit = tables[Int(id)]?.portLimit else { return .absent }
        return tables[Int(id)]!.channels.withUnsafeBufferPointer {
            EventPortView(base: $0.baseAddress, count: UInt32($0.count), limit: limit)
        }
    }
}
