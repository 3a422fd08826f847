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

    /// The record of `port`, which must be below `count` (checked: a violation stops, as an array's bounds do).
    @inlinable @inline(__always)
    func record(_ port: UInt32) -> EventChannel {
        precondition(port < count, "event port beyond its records")
        return base.unsafelyUnwrapped[Int(bitPattern: UInt(port))]
    }

    /// EVTCHNOP_send from `caller` (whose view this is) on its `port`: EventChannelSystem.sendDecision's
    /// answer. The peer of an interdomain port is the caller itself for a loopback channel (read here, no
    /// lookup); otherwise `peer` gives the peer's view. The peer's record must exist (the system's invariant:
    /// both ends name each other); a violation stops, as the system's own lookup does.
    @inlinable @inline(__always)
    public func sendDecision(caller: UInt16, port: UInt32, peer: (UInt16) -> EventPortView) -> EventSendDecision {
        // Records exist for the buckets bound so far (count <= limit): the fast test. What fails it is told
        // apart in the system's order: no table, port 0 or beyond the limit, a port above the records (free).
        guard port < count, port != 0 else { return refusal(port) }
        let channel = base.unsafelyUnwrapped[Int(bitPattern: UInt(port))]
        switch channel.state {
        case .interdomain(let remoteDomain, let remotePort):
            // The peer's record is the source of truth for which of its VCPUs to raise.
            let vcpu = remoteDomain == caller ? record(remotePort).notifyVCPU : peer(remoteDomain).record(remotePort).notifyVCPU
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

    /// Why a port without a record (or port 0) is refused, in the system's order of checks.
    @usableFromInline @inline(never)
    func refusal(_ port: UInt32) -> EventSendDecision {
        if limit == 0 { return .refuse(.noSuchDomain) }
        if port == 0 || port >= limit { return .refuse(.portOutOfRange) }
        return .refuse(.portNotInUse)
    }
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
