// The event-channel state machine over every domain: alloc_unbound, bind_*, close, send, status, bind_vcpu, unmask and reset, with Xen's errors.
// Pure: it must never touch shared_info (TwoLevelEvents does, for the targets it returns) and never leave one end of a channel pointing at a port that does not point back.
//
// Every operation checks everything first and changes nothing when it refuses; only then does
// it act, and acting cannot fail. Domains are indexed by id, so ids must be below the capacity
// given at init. The hypervisor runs one operation at a time, so the "races" between the two
// ends of a channel are orderings: whichever close comes first turns the other end back into
// `unbound(remote: closer)`; a send on that end is then dropped silently, as in Xen; a close of
// it frees it; and a fresh bind_interdomain may reconnect it.

import PVABI

public struct EventChannelSystem: Equatable, Sendable {
    /// tables[id]: the domain's ports, nil while no domain has that id. The send path reads a domain's
    /// records through portView (EventPortView), taken afresh after every change.
    @usableFromInline var tables: [EventChannelTable?]

    /// A system for domains 0 ..< domainCapacity, none present yet.
    public init(domainCapacity: Int) {
        tables = Array(repeating: nil, count: max(domainCapacity, 1))
    }

    /// Ids below this may be added.
    public var domainCapacity: Int { tables.count }

    /// Registers domain `id` with every port free. False when the id is out of range or taken.
    @discardableResult
    public mutating func addDomain(_ id: UInt16, privileged: Bool, vcpus: UInt32 = 1,
                                   portLimit: UInt32 = UInt32(SharedInfoLimits.twoLevelEventChannels),
                                   pirqs: UInt32 = 0) -> Bool {
        guard Int(id) < tables.count, tables[Int(id)] == nil else { return false }
        tables[Int(id)] = EventChannelTable(portLimit: portLimit, vcpus: vcpus, pirqs: pirqs, privileged: privileged)
        return true
    }

    /// Domain `id` has `vcpus` vCPUs now (domctl max_vcpus): vcpu arguments below it are valid.
    public mutating func setVCPUCount(_ id: UInt16, vcpus: UInt32) {
        guard exists(id) else { return }
        tables[Int(id)]!.growVCPUs(to: vcpus)
    }

    /// Domain `id`'s ports use `abi` from now on (EVTCHNOP_init_control's switch to FIFO; EVTCHNOP_reset's
    /// return to 2-level), with that ABI's port limit: up to the domain's own limit, at most 1024 on 2-level and
    /// EvtchnFifo.maxPorts on FIFO. Ports in use at or above the new limit are closed first (after a reset
    /// there are none); the answer is those ports. Nothing for an absent domain.
    @discardableResult
    public mutating func setABI(_ id: UInt16, _ abi: EventABI) -> [UInt32] {
        guard exists(id) else { return [] }
        let newLimit = EventChannelTable.limit(tables[Int(id)]!.configuredLimit, abi: abi)
        var closed: [UInt32] = []
        var port = max(newLimit, 1)
        while Int(port) < tables[Int(id)]!.channels.count {
            if tables[Int(id)]!.channels[Int(port)].state != .free {
                release(id, port)
                closed.append(port)
            }
            port += 1
        }
        tables[Int(id)]!.switchABI(to: abi)
        return closed
    }

    /// Closes every port of domain `id` (its peers become unbound towards it) and forgets it.
    public mutating func removeDomain(_ id: UInt16) {
        guard exists(id) else { return }
        closeAll(id)
        tables[Int(id)] = nil
    }

    /// Whether domain `id` is present.
    public func exists(_ id: UInt16) -> Bool {
        Int(id) < tables.count && tables[Int(id)] != nil
    }

    /// Domain `id`'s ports, nil when absent.
    public func table(_ id: UInt16) -> EventChannelTable? {
        Int(id) < tables.count ? tables[Int(id)] : nil
    }

    /// The state of `port` in domain `id`, nil when either does not exist.
    public func state(domain id: UInt16, port: UInt32) -> EventChannelState? {
        table(id)?.state(port)
    }

    // MARK: - Operations

    /// EVTCHNOP_alloc_unbound: a fresh port in `domain` (DOMID_SELF: the caller) that accepts
    /// a binding from `remote` (DOMID_SELF: the caller). Only a privileged caller may allocate in
    /// another domain. Returns the port.
    public mutating func allocUnbound(caller: UInt16, domain: UInt16, remote: UInt16) throws(EventChannelRefusal) -> UInt32 {
        let callerTable = try present(caller)
        let target = resolve(domain, caller: caller)
        let targetTable = try present(target)
        guard target == caller || callerTable.privileged else {
            throw EventChannelRefusal(.EPERM, "only a privileged domain may allocate a port in another domain")
        }
        guard let port = targetTable.lowestFreePort() else {
            throw EventChannelRefusal(.ENOSPC, "the domain has no free event-channel port")
        }
        let acceptor = resolve(remote, caller: caller)
        set(target, port, EventChannel(state: .unbound(remote: acceptor), notifyVCPU: 0))
        return port
    }

    /// EVTCHNOP_bind_interdomain: connects a fresh port of the caller to `remotePort` of
    /// `remoteDomain` (DOMID_SELF: loopback), which must be unbound and accept the caller.
    /// Returns the local port and, as Xen does, the target to mark pending (the local port),
    /// in case the other side signalled before the connection existed.
    public mutating func bindInterdomain(caller: UInt16, remoteDomain: UInt16, remotePort: UInt32) throws(EventChannelRefusal) -> (localPort: UInt32, pending: EventTarget) {
        let callerTable = try present(caller)
        let remote = resolve(remoteDomain, caller: caller)
        let remoteTable = try present(remote)
        guard let localPort = callerTable.lowestFreePort() else {
            throw EventChannelRefusal(.ENOSPC, "the domain has no free event-channel port")
        }
        guard remoteTable.isUsable(remotePort), let remoteChannel = remoteTable.channel(remotePort) else {
            throw EventChannelRefusal(.EINVAL, "the remote port is out of range")
        }
        guard case .unbound(let acceptor) = remoteChannel.state else {
            throw EventChannelRefusal(.EINVAL, "the remote port is not unbound")
        }
        guard acceptor == caller else {
            throw EventChannelRefusal(.EINVAL, "the remote port does not accept bindings from this domain")
        }
        set(caller, localPort, EventChannel(state: .interdomain(remoteDomain: remote, remotePort: remotePort), notifyVCPU: 0))
        var updated = remoteChannel
        updated.state = .interdomain(remoteDomain: caller, remotePort: localPort)
        set(remote, remotePort, updated)
        return (localPort, EventTarget(domain: caller, port: localPort, vcpu: 0))
    }

    /// EVTCHNOP_bind_virq: a fresh port of the caller raised by `virq` on `vcpu`. A global VIRQ
    /// must be bound on VCPU 0; each VIRQ has at most one port per VCPU.
    public mutating func bindVirq(caller: UInt16, virq: UInt32, vcpu: UInt32) throws(EventChannelRefusal) -> UInt32 {
        let t = try present(caller)
        guard virq < Virq.count else {
            throw EventChannelRefusal(.EINVAL, "no such VIRQ")
        }
        guard Virq.isPerVCPU(virq) || vcpu == 0 else {
            throw EventChannelRefusal(.EINVAL, "a global VIRQ must be bound on VCPU 0")
        }
        guard vcpu < t.vcpuCount else {
            throw EventChannelRefusal(.ENOENT, "no such VCPU")
        }
        guard t.virqPort(virq, vcpu: vcpu) == 0 else {
            throw EventChannelRefusal(.EEXIST, "the VIRQ is already bound on this VCPU")
        }
        guard let port = t.lowestFreePort() else {
            throw EventChannelRefusal(.ENOSPC, "the domain has no free event-channel port")
        }
        set(caller, port, EventChannel(state: .virq(virq), notifyVCPU: vcpu))
        tables[Int(caller)]!.virqPorts[t.virqIndex(virq, vcpu: vcpu)] = port
        return port
    }

    /// EVTCHNOP_bind_ipi: a fresh port of the caller that notifies `vcpu` when the domain sends on it.
    public mutating func bindIPI(caller: UInt16, vcpu: UInt32) throws(EventChannelRefusal) -> UInt32 {
        let t = try present(caller)
        guard vcpu < t.vcpuCount else {
            throw EventChannelRefusal(.ENOENT, "no such VCPU")
        }
        guard let port = t.lowestFreePort() else {
            throw EventChannelRefusal(.ENOSPC, "the domain has no free event-channel port")
        }
        set(caller, port, EventChannel(state: .ipi(vcpu: vcpu), notifyVCPU: vcpu))
        return port
    }

    /// EVTCHNOP_bind_pirq: a fresh port of the caller raised by physical IRQ `pirq`. Each PIRQ has
    /// at most one port per domain. Whether the caller may use the pirq at all (its interrupt line,
    /// the mapping) is PirqMapping.bindRefusal's, asked before this.
    public mutating func bindPirq(caller: UInt16, pirq: UInt32) throws(EventChannelRefusal) -> UInt32 {
        let t = try present(caller)
        guard pirq < t.pirqCount else {
            throw EventChannelRefusal(.EINVAL, "no such physical IRQ for this domain")
        }
        guard t.pirqPort(pirq) == 0 else {
            throw EventChannelRefusal(.EEXIST, "the physical IRQ is already bound")
        }
        guard let port = t.lowestFreePort() else {
            throw EventChannelRefusal(.ENOSPC, "the domain has no free event-channel port")
        }
        set(caller, port, EventChannel(state: .pirq(pirq), notifyVCPU: 0))
        tables[Int(caller)]!.pirqPorts[Int(pirq)] = port
        return port
    }

    /// EVTCHNOP_close: frees `port` of the caller. The other end of an interdomain channel
    /// becomes `unbound(remote: caller)`, so the peer may rebind. The caller must then clear
    /// the port's pending bit (TwoLevelEvents.clearPending), so a later bind starts clean.
    public mutating func close(caller: UInt16, port: UInt32) throws(EventChannelRefusal) {
        let t = try present(caller)
        guard t.isUsable(port), let channel = t.channel(port) else {
            throw EventChannelRefusal(.EINVAL, "the port is out of range")
        }
        guard channel.state != .free else {
            throw EventChannelRefusal(.EINVAL, "the port is not in use")
        }
        release(caller, port)
    }

    /// EVTCHNOP_send: where an event sent on the caller's `port` lands. Interdomain: the remote
    /// port; IPI: the port itself. An unbound port drops the event (nil), as Xen does, so a
    /// sender racing a peer's close sees success. Anything else is refused. The rule is
    /// sendDecision (EventSendDecision.swift); this form throws its refusal.
    public func send(caller: UInt16, port: UInt32) throws(EventChannelRefusal) -> EventTarget? {
        switch sendDecision(caller: caller, port: port) {
        case .deliver(let target): return target
        case .drop: return nil
        case .refuse(let why): throw why.refusal
        }
    }

    /// EVTCHNOP_status of `port` in `domain` (DOMID_SELF: the caller). Another domain's ports
    /// only for a privileged caller. Free ports and the reserved port 0 read closed.
    public func status(caller: UInt16, domain: UInt16, port: UInt32) throws(EventChannelRefusal) -> EventChannelStatus {
        let callerTable = try present(caller)
        let target = resolve(domain, caller: caller)
        let t = try present(target)
        guard target == caller || callerTable.privileged else {
            throw EventChannelRefusal(.EPERM, "only a privileged domain may read another domain's ports")
        }
        guard let channel = t.channel(port) else {
            throw EventChannelRefusal(.EINVAL, "the port is out of range")
        }
        return EventChannelStatus(state: channel.state, vcpu: channel.notifyVCPU)
    }

    /// EVTCHNOP_bind_vcpu: delivers `port`'s events to `vcpu` from now on. Allowed for unbound,
    /// interdomain, PIRQ and global VIRQ ports; IPI and per-VCPU VIRQ ports keep their VCPU.
    public mutating func bindVCPU(caller: UInt16, port: UInt32, vcpu: UInt32) throws(EventChannelRefusal) {
        let t = try present(caller)
        guard vcpu < t.vcpuCount else {
            throw EventChannelRefusal(.ENOENT, "no such VCPU")
        }
        guard t.isUsable(port), var channel = t.channel(port) else {
            throw EventChannelRefusal(.EINVAL, "the port is out of range")
        }
        switch channel.state {
        case .unbound, .interdomain, .pirq:
            break
        case .virq(let virq):
            guard !Virq.isPerVCPU(virq) else {
                throw EventChannelRefusal(.EINVAL, "a per-VCPU VIRQ port cannot move to another VCPU")
            }
        case .ipi:
            throw EventChannelRefusal(.EINVAL, "an IPI port cannot move to another VCPU")
        case .free:
            throw EventChannelRefusal(.EINVAL, "the port is not in use")
        }
        channel.notifyVCPU = vcpu
        set(caller, port, channel)
    }

    /// EVTCHNOP_unmask, the part that needs the table: which VCPU to re-raise if `port` is
    /// pending. Any port inside the table may be unmasked (Xen allows free ports too); the
    /// caller then runs TwoLevelEvents.unmask with this VCPU.
    public func unmaskVCPU(caller: UInt16, port: UInt32) throws(EventChannelRefusal) -> UInt32 {
        let t = try present(caller)
        guard let channel = t.channel(port) else {
            throw EventChannelRefusal(.EINVAL, "the port is out of range")
        }
        return channel.notifyVCPU
    }

    /// EVTCHNOP_reset: closes every port of `domain` (DOMID_SELF: the caller); another domain's
    /// only for a privileged caller. The caller must then clear that domain's pending bitmap.
    @discardableResult
    public mutating func reset(caller: UInt16, domain: UInt16) throws(EventChannelRefusal) -> [UInt32] {
        let callerTable = try present(caller)
        let target = resolve(domain, caller: caller)
        _ = try present(target)
        guard target == caller || callerTable.privileged else {
            throw EventChannelRefusal(.EPERM, "only a privileged domain may reset another domain's ports")
        }
        return closeAll(target)
    }

    /// Where the hypervisor raises `virq` for `domain`: the port bound on `vcpu` (per-VCPU
    /// VIRQs) or on VCPU 0 (global ones, delivered to whichever VCPU bind_vcpu chose).
    /// Nil when the domain has not bound it.
    public func virqTarget(domain: UInt16, virq: UInt32, vcpu: UInt32 = 0) -> EventTarget? {
        guard let t = table(domain), virq < Virq.count else { return nil }
        let port = t.virqPort(virq, vcpu: Virq.isPerVCPU(virq) ? vcpu : 0)
        guard port != 0 else { return nil }
        return EventTarget(domain: domain, port: port, vcpu: t.channels[Int(port)].notifyVCPU)
    }

    /// Where physical IRQ `pirq` lands in `domain`, nil when unbound.
    public func pirqTarget(domain: UInt16, pirq: UInt32) -> EventTarget? {
        guard let t = table(domain) else { return nil }
        let port = t.pirqPort(pirq)
        guard port != 0 else { return nil }
        return EventTarget(domain: domain, port: port, vcpu: t.channels[Int(port)].notifyVCPU)
    }

    // MARK: - Acting (cannot fail)

    func resolve(_ domain: UInt16, caller: UInt16) -> UInt16 {
        domain == SpecialDomainID.selfID ? caller : domain
    }

    func present(_ id: UInt16) throws(EventChannelRefusal) -> EventChannelTable {
        guard let t = table(id) else {
            throw EventChannelRefusal(.ESRCH, "no such domain")
        }
        return t
    }

    mutating func set(_ domain: UInt16, _ port: UInt32, _ channel: EventChannel) {
        tables[Int(domain)]!.reserve(port)
        tables[Int(domain)]!.channels[Int(port)] = channel
    }

    /// Frees a port in use, undoing its reverse maps and unbinding its peer.
    mutating func release(_ domain: UInt16, _ port: UInt32) {
        let channel = tables[Int(domain)]!.channels[Int(port)]
        switch channel.state {
        case .free, .unbound, .ipi:
            break
        case .virq(let virq):
            let vcpus = tables[Int(domain)]!.vcpuCount
            for vcpu in 0..<vcpus {
                let index = tables[Int(domain)]!.virqIndex(virq, vcpu: vcpu)
                if tables[Int(domain)]!.virqPorts[index] == port {
                    tables[Int(domain)]!.virqPorts[index] = 0
                }
            }
        case .pirq(let pirq):
            tables[Int(domain)]!.pirqPorts[Int(pirq)] = 0
        case .interdomain(let remoteDomain, let remotePort):
            var peer = tables[Int(remoteDomain)]!.channels[Int(remotePort)]
            // The invariant this type keeps: both ends of a channel name each other.
            precondition(peer.state == .interdomain(remoteDomain: domain, remotePort: port),
                         "event channel peer does not point back")
            peer.state = .unbound(remote: domain)
            tables[Int(remoteDomain)]!.channels[Int(remotePort)] = peer
        }
        set(domain, port, .free)
    }

    /// Closes every port of `domain` in use; the answer is those ports, lowest first (the caller
    /// clears their pending bits, as Xen's evtchn_free does for each port it frees).
    @discardableResult
    mutating func closeAll(_ domain: UInt16) -> [UInt32] {
        let limit = UInt32(tables[Int(domain)]!.channels.count)
        var closed: [UInt32] = []
        var port: UInt32 = 1
        while port < limit {
            if tables[Int(domain)]!.channels[Int(port)].state != .free {
                release(domain, port)
                closed.append(port)
            }
            port += 1
        }
        return closed
    }
}
