// PhysdevOp.swift: physdev_op (33) and platform_op (7) acted on: the virtual IOPL and I/O bitmap are
// kept per vCPU, physical IRQs are mapped, queried and EOI'd (PhysicalIRQs drives the lines), the EOI
// map frame is remembered. ApusCore's PhysdevOpRequest / PlatformOpRequest decode (refusals included); this file only acts.

import ApusCore
import PVABI

enum PhysdevOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch PhysdevOpRequest.decode(a, privileged: d.privileged, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.setIOPL(let iopl)):
            d.vcpu.iopl = iopl
            return .ok
        case .success(.setIOBitmap(let bitmap, let ports)):
            d.vcpu.ioBitmap = bitmap
            d.vcpu.ioBitmapPorts = ports
            return .ok
        case .success(.irqStatusQuery(let pirq, let out)):
            return memory.write32(PhysicalIRQs.statusFlags(d, pirq: pirq), to: out)
                ? .ok : .refused(.EFAULT, "physdev_irq_status_query is not writable guest memory")
        case .success(.eoi(let pirq)):
            guard d.pirqs.isMapped(pirq) else { return .refused(.EINVAL, "eoi: the domain has no physical IRQ there") }
            PhysicalIRQs.eoi(d, pirq: pirq)
            return .ok
        case .success(.mapPirq(let domain, let type, let index, let pirq, let out)):
            guard let target = domain == SpecialDomainID.selfID ? d : Domains.byID(domain) else {
                return .refused(.ESRCH, "map_pirq: no such domain")
            }
            switch PirqMapping.check(type: type, index: index, pirq: pirq, callerLines: d.devices.lines) {
            case .failure(let refusal): return refusal.outcome
            case .success(let given):
                guard memory.write32(given, to: out) else { return .refused(.EFAULT, "physdev_map_pirq is not writable guest memory") }
                if !target.pirqs.isMapped(given) {
                    target.pirqs.map(given)
                    Log.info("d\(d.id): map_pirq: GSI \(index) is pirq \(given) of d\(target.id)")
                }
                return .ok
            }
        case .success(.unmapPirq(let domain, let pirq)):
            guard let target = domain == SpecialDomainID.selfID ? d : Domains.byID(domain) else {
                return .refused(.ESRCH, "unmap_pirq: no such domain")
            }
            guard Events.system.pirqTarget(domain: target.id, pirq: pirq) == nil else {
                return .refused(.EBUSY, "unmap_pirq: the pirq is bound to an event channel; close it first")
            }
            if let refusal = target.pirqs.unmap(pirq) { return refusal.outcome }
            return .ok
        case .success(.registerEOIMap(let mfn, _)):
            // Xen takes a writable type reference on the frame and keeps it: it must be the domain's
            // and not a page or descriptor table. No pirq of a domU ever sets a bit in it, so Apus
            // only remembers it (see the report: the writable reference is not taken).
            guard mfn < Machine.frames.count, Machine.frames.owner(of: mfn) == .domain(d.id) else {
                return .refused(.EINVAL, "pirq_eoi_gmfn: not a frame of the domain")
            }
            let record = Machine.frames.record(mfn)
            guard record.typeCount == 0 || record.type == .writable || record.type == .none else {
                return .refused(.EINVAL, "pirq_eoi_gmfn: the frame is a page table or descriptor table")
            }
            guard d.pirqEOIMapMFN == 0 else { return .refused(.EBUSY, "pirq_eoi_gmfn: an EOI map is registered already") }
            d.pirqEOIMapMFN = mfn
            return .ok
        case .success(.unmaskNotify):
            return .ok
        case .success(.notOffered):
            return .unoffered(.ENOSYS, "this physdev_op command is not offered by Apus")
        }
    }
}

enum PlatformOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch PlatformOpRequest.decode(a, privileged: d.privileged, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.command):
            return .unoffered(.ENOSYS, "platform_op commands are not offered by Apus")
        }
    }
}
