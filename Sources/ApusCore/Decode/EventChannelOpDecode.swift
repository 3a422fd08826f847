// EventChannelOpDecode.swift: event_channel_op (32) decoded from its registers and argument struct into
// a typed request: each sub-op's IN fields, and the GuestRange its OUT field goes to. It reads guest
// memory only through GuestMemoryAccess and must never act: no state changes, no copy out.

import PVABI

public enum EventChannelRequest {
    /// IN dom, remote_dom (DOMID_SELF not yet resolved); OUT the new port to `port`.
    case allocUnbound(domain: UInt16, remote: UInt16, port: GuestRange)
    /// IN remote_dom, remote_port; OUT the new local port to `localPort`.
    case bindInterdomain(remoteDomain: UInt16, remotePort: UInt32, localPort: GuestRange)
    /// IN virq, vcpu; OUT the new port to `port`.
    case bindVirq(virq: UInt32, vcpu: UInt32, port: GuestRange)
    /// IN vcpu; OUT the new port to `port`.
    case bindIPI(vcpu: UInt32, port: GuestRange)
    /// IN pirq, flags (BIND_PIRQ__WILL_SHARE); OUT the new port to `port`.
    case bindPirq(pirq: UInt32, willShare: Bool, port: GuestRange)
    case close(port: UInt32)
    case send(port: UInt32)
    case unmask(port: UInt32)
    /// IN dom, port; OUT status, vcpu and the union, written as one block to `out`
    /// (EvtchnStatusLayout.statusOffset to the end of the struct).
    case status(domain: UInt16, port: UInt32, out: GuestRange)
    case bindVCPU(port: UInt32, vcpu: UInt32)
    case reset(domain: UInt16)
    /// init_control, expand_array or set_priority (FifoEventRequest decodes their structs).
    case fifo(FifoEventRequest)

    static let unreadable = Refusal(.EFAULT, "event channel argument is not readable guest memory")

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<EventChannelRequest> {
        guard let op = EventChannelOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown event_channel_op command")) }
        switch op {
        case .bindPirq:
            return read(a.a2, EvtchnBindPirqLayout.size, &memory) { arg, range in
                guard let port = range.field(EvtchnBindPirqLayout.portOffset, 4) else { return nil }
                return .bindPirq(pirq: arg.u32(EvtchnBindPirqLayout.pirqOffset),
                                 willShare: arg.u32(EvtchnBindPirqLayout.flagsOffset) & EvtchnBindPirqLayout.flagWillShare != 0, port: port)
            }
        case .initControl, .expandArray, .setPriority:
            return FifoEventRequest.decode(op, a.a2, &memory).map { .fifo($0) }
        case .allocUnbound:
            return read(a.a2, EvtchnAllocUnboundLayout.size, &memory) { arg, range in
                guard let port = range.field(EvtchnAllocUnboundLayout.portOffset, 4) else { return nil }
                return .allocUnbound(domain: arg.u16(EvtchnAllocUnboundLayout.domOffset),
                                     remote: arg.u16(EvtchnAllocUnboundLayout.remoteDomOffset), port: port)
            }
        case .bindInterdomain:
            return read(a.a2, EvtchnBindInterdomainLayout.size, &memory) { arg, range in
                guard let local = range.field(EvtchnBindInterdomainLayout.localPortOffset, 4) else { return nil }
                return .bindInterdomain(remoteDomain: arg.u16(EvtchnBindInterdomainLayout.remoteDomOffset),
                                        remotePort: arg.u32(EvtchnBindInterdomainLayout.remotePortOffset), localPort: local)
            }
        case .bindVirq:
            return read(a.a2, EvtchnBindVirqLayout.size, &memory) { arg, range in
                guard let port = range.field(EvtchnBindVirqLayout.portOffset, 4) else { return nil }
                return .bindVirq(virq: arg.u32(EvtchnBindVirqLayout.virqOffset), vcpu: arg.u32(EvtchnBindVirqLayout.vcpuOffset), port: port)
            }
        case .bindIPI:
            return read(a.a2, EvtchnBindIPILayout.size, &memory) { arg, range in
                guard let port = range.field(EvtchnBindIPILayout.portOffset, 4) else { return nil }
                return .bindIPI(vcpu: arg.u32(EvtchnBindIPILayout.vcpuOffset), port: port)
            }
        case .close:
            return read(a.a2, EvtchnPortLayout.size, &memory) { arg, _ in .close(port: arg.u32(EvtchnPortLayout.portOffset)) }
        case .send:
            return decodeSend(a, &memory).map { .send(port: $0) }
        case .unmask:
            return read(a.a2, EvtchnPortLayout.size, &memory) { arg, _ in .unmask(port: arg.u32(EvtchnPortLayout.portOffset)) }
        case .status:
            return read(a.a2, EvtchnStatusLayout.size, &memory) { arg, range in
                guard let out = range.dropping(UInt32(EvtchnStatusLayout.statusOffset)) else { return nil }
                return .status(domain: arg.u16(EvtchnStatusLayout.domOffset), port: arg.u32(EvtchnStatusLayout.portOffset), out: out)
            }
        case .bindVCPU:
            return read(a.a2, EvtchnBindVCPULayout.size, &memory) { arg, _ in
                .bindVCPU(port: arg.u32(EvtchnBindVCPULayout.portOffset), vcpu: arg.u32(EvtchnBindVCPULayout.vcpuOffset))
            }
        case .reset:
            return read(a.a2, EvtchnResetLayout.size, &memory) { arg, _ in .reset(domain: arg.u16(EvtchnResetLayout.domOffset)) }
        }
    }

    /// EVTCHNOP_send's port, read on its own (the commonest command skips the general decode and
    /// its request enum): the one 4-byte field of evtchn_send at arg2, through the checked path.
    /// `a.a1` is not looked at: the caller has matched it to EVTCHNOP_send.
    @inline(__always)
    public static func decodeSend<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<UInt32> {
        decodeSend(a) { memory.read32($0) }
    }

    /// decodeSend with the word read by `load` (a GuestMemoryAccess's read32, or a faster load of the
    /// same word): it is given the checked range of the port field and nothing else.
    @inline(__always)
    public static func decodeSend(_ a: HypercallArguments, load: (GuestRange) -> UInt32?) -> Decoded<UInt32> {
        guard let range = GuestRange(a.a2, count: UInt32(EvtchnPortLayout.size)),
              let port = load(range) else { return .failure(unreadable) }
        return .success(port)
    }

    /// Copies the `size`-byte struct at `va` in and builds the request from the copy and its range.
    private static func read<M: GuestMemoryAccess>(_ va: UInt32, _ size: Int, _ memory: inout M,
                                                   _ build: (GuestBytes<24>, GuestRange) -> EventChannelRequest?) -> Decoded<EventChannelRequest> {
        guard let range = GuestRange(va, count: UInt32(size)), let arg: GuestBytes<24> = memory.read(range),
              let request = build(arg, range) else { return .failure(unreadable) }
        return .success(request)
    }
}

/// evtchn_status's OUT block as the acting half fills it: status, vcpu and the union, in the
/// layout of EvtchnStatusLayout from statusOffset on.
public struct EventChannelStatusOut {
    public private(set) var bytes = GuestBytes<16>(count: EvtchnStatusLayout.size - EvtchnStatusLayout.statusOffset)
    public init() {}
    private static func at(_ offset: Int) -> Int { offset - EvtchnStatusLayout.statusOffset }
    public mutating func set(status: EventChannelStatusCode, vcpu: UInt32) {
        bytes.set32(Self.at(EvtchnStatusLayout.statusOffset), status.rawValue)
        bytes.set32(Self.at(EvtchnStatusLayout.vcpuOffset), vcpu)
    }
    /// u.unbound.dom or u.interdomain.dom.
    public mutating func set(remoteDomain: UInt16) { bytes.set16(Self.at(EvtchnStatusLayout.remoteDomOffset), remoteDomain) }
    /// u.interdomain.port.
    public mutating func set(remotePort: UInt32) { bytes.set32(Self.at(EvtchnStatusLayout.remotePortOffset), remotePort) }
    /// u.virq or u.pirq.
    public mutating func set(irq: UInt32) { bytes.set32(Self.at(EvtchnStatusLayout.irqOffset), irq) }
}
