// EventChannelOp.swift: event_channel_op (32): the 2-level event-channel operations, each
// decoded from the guest's argument struct, run through ApusCore's EventChannelSystem (which
// decides what is allowed) and answered with the struct's OUT fields.

import ApusCore
import PVABI

enum EventChannelHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = EventChannelOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown event_channel_op command") }
        let arg = a.a2
        func u32(_ o: Int) -> UInt32? { GuestMemory.read32(arg + UInt32(o)) }
        func u16(_ o: Int) -> UInt16? { GuestMemory.readBytes(arg + UInt32(o), count: 2).map { UInt16($0[0]) | UInt16($0[1]) << 8 } }
        func out(_ o: Int, _ v: UInt32) -> HypercallOutcome {
            GuestMemory.write32(arg + UInt32(o), v) ? .ok : .refused(.EFAULT, "event channel argument is not writable guest memory")
        }
        let unreadable = HypercallOutcome.refused(.EFAULT, "event channel argument is not readable guest memory")
        func resolve(_ id: UInt16) -> UInt16 { id == SpecialDomainID.selfID ? d.id : id }
        do throws(EventChannelRefusal) {
            switch op {
            case .allocUnbound:
                guard let dom = u16(EvtchnAllocUnboundLayout.domOffset), let remote = u16(EvtchnAllocUnboundLayout.remoteDomOffset) else { return unreadable }
                let port = try Events.system.allocUnbound(caller: d.id, domain: resolve(dom), remote: resolve(remote))
                return out(EvtchnAllocUnboundLayout.portOffset, port)
            case .bindInterdomain:
                guard let remote = u16(EvtchnBindInterdomainLayout.remoteDomOffset), let remotePort = u32(EvtchnBindInterdomainLayout.remotePortOffset) else { return unreadable }
                let (local, pending) = try Events.system.bindInterdomain(caller: d.id, remoteDomain: resolve(remote), remotePort: remotePort)
                Events.deliver(pending)
                return out(EvtchnBindInterdomainLayout.localPortOffset, local)
            case .bindVirq:
                guard let virq = u32(EvtchnBindVirqLayout.virqOffset), let vcpu = u32(EvtchnBindVirqLayout.vcpuOffset) else { return unreadable }
                let port = try Events.system.bindVirq(caller: d.id, virq: virq, vcpu: vcpu)
                return out(EvtchnBindVirqLayout.portOffset, port)
            case .bindIPI:
                guard let vcpu = u32(EvtchnBindIPILayout.vcpuOffset) else { return unreadable }
                let port = try Events.system.bindIPI(caller: d.id, vcpu: vcpu)
                return out(EvtchnBindIPILayout.portOffset, port)
            case .close:
                guard let port = u32(EvtchnPortLayout.portOffset) else { return unreadable }
                try Events.system.close(caller: d.id, port: port)
                var page = SharedInfoPage(d.sharedInfo)
                TwoLevelEvents.clearPending(&page, port: port)
                return .ok
            case .send:
                guard let port = u32(EvtchnPortLayout.portOffset) else { return unreadable }
                d.eventsSent &+= 1
                if let target = try Events.system.send(caller: d.id, port: port) { Events.deliver(target) }
                return .ok
            case .unmask:
                guard let port = u32(EvtchnPortLayout.portOffset) else { return unreadable }
                let vcpu = try Events.system.unmaskVCPU(caller: d.id, port: port)
                var page = SharedInfoPage(d.sharedInfo)
                _ = TwoLevelEvents.unmask(&page, port: port, vcpu: vcpu)
                return .ok
            case .status:
                guard let dom = u16(EvtchnStatusLayout.domOffset), let port = u32(EvtchnStatusLayout.portOffset) else { return unreadable }
                let status = try Events.system.status(caller: d.id, domain: resolve(dom), port: port)
                var bytes = [UInt8](repeating: 0, count: EvtchnStatusLayout.size - EvtchnStatusLayout.statusOffset)
                func put(_ o: Int, _ v: UInt32) { for i in 0..<4 { bytes[o - EvtchnStatusLayout.statusOffset + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) } }
                put(EvtchnStatusLayout.statusOffset, status.code.rawValue)
                put(EvtchnStatusLayout.vcpuOffset, status.vcpu)
                switch status.state {
                case .unbound(let remote): put(EvtchnStatusLayout.unionOffset, UInt32(remote))
                case .interdomain(let rd, let rp): put(EvtchnStatusLayout.unionOffset, UInt32(rd)); put(EvtchnStatusLayout.unionOffset + 4, rp)
                case .virq(let v): put(EvtchnStatusLayout.unionOffset, v)
                case .pirq(let p): put(EvtchnStatusLayout.unionOffset, p)
                default: break
                }
                return GuestMemory.writeBytes(arg + UInt32(EvtchnStatusLayout.statusOffset), bytes) ? .ok
                    : .refused(.EFAULT, "evtchn_status is not writable guest memory")
            case .bindVCPU:
                guard let port = u32(0), let vcpu = u32(4) else { return unreadable }
                try Events.system.bindVCPU(caller: d.id, port: port, vcpu: vcpu)
                return .ok
            case .reset:
                guard let dom = u16(0) else { return unreadable }
                try Events.system.reset(caller: d.id, domain: resolve(dom))
                return .ok
            case .bindPirq:
                return .refused(.EPERM, "no physical interrupts are passed through to guests")
            case .initControl, .expandArray, .setPriority:
                return .refused(.ENOSYS, "the FIFO event-channel ABI is not implemented; use the 2-level ABI")
            }
        } catch {
            return .refused(error.error, error.reason)
        }
    }
}
