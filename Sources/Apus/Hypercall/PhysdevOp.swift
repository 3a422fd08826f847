// PhysdevOp.swift: physdev_op (33) and platform_op (7) acted on for domains that own no device: the
// virtual IOPL and I/O bitmap are kept per vCPU, the EOI map frame is remembered, status queries are
// answered. ApusCore's PhysdevOpRequest / PlatformOpRequest decode (refusals included); this file only acts.

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
        case .success(.irqStatusQuery(let flags, let out)):
            return memory.write32(flags, to: out) ? .ok : .refused(.EFAULT, "physdev_irq_status_query is not writable guest memory")
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
