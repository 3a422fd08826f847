// PhysdevOpDecode.swift: physdev_op (33) decoded into typed requests: the virtual IOPL and I/O bitmap,
// pirq status queries, EOIs, map_pirq / unmap_pirq for a privileged caller, the EOI map page, and
// -EPERM (after the argument is read, as Xen's XSM checks come) for a domU's device operations.
// Reads only through GuestMemoryAccess; must never act.

import PVABI

/// How many pirqs a domain has, for the range checks of irq_status_query and eoi. Xen gives a domU
/// nr_irqs_gsi + extra_domU_irqs (32); on a machine with only the two 8259 PICs there are 16 GSIs.
public enum PirqLimits {
    public static let perDomain: UInt32 = 16 + 32
}

public enum PhysdevOpRequest: Equatable {
    /// The vCPU's virtual IOPL becomes `iopl` (0-3).
    case setIOPL(UInt32)
    /// The guest's I/O bitmap (nil: none) and how many ports it covers.
    case setIOBitmap(bitmap: GuestRange?, ports: UInt32)
    /// OUT: the pirq's XENIRQSTAT_* flags (u32) to `out`; the pirq is in range.
    case irqStatusQuery(pirq: UInt32, out: GuestRange)
    /// End of interrupt for `pirq` (in range; the actor checks it is mapped).
    case eoi(pirq: UInt32)
    /// map_pirq by a privileged caller for `domain` (DOMID_SELF unresolved): IN type, index and pirq,
    /// OUT the pirq given, to `out`.
    case mapPirq(domain: UInt16, type: UInt32, index: UInt32, pirq: UInt32, out: GuestRange)
    /// unmap_pirq by a privileged caller for `domain` (DOMID_SELF unresolved).
    case unmapPirq(domain: UInt16, pirq: UInt32)
    /// The guest's EOI map frame (a machine frame: PV guests name frames by mfn); the actor checks
    /// that the domain may write it and that none is registered. `autoUnmask` for the v1 command.
    case registerEOIMap(mfn: UInt32, autoUnmask: Bool)
    /// Legacy unmask of every EOI'd pirq: with none, nothing to do.
    case unmaskNotify
    /// A privileged domain's command that this hypervisor does not offer (its devices are dom0's own
    /// business through other paths): the actor answers -ENOSYS.
    case notOffered(PhysdevOp)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, privileged: Bool, _ memory: inout M) -> Decoded<PhysdevOpRequest> {
        guard let op = PhysdevOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown physdev_op command")) }
        var arg = GuestBytes<36>(count: 0)
        if op.argumentSize > 0 {
            guard let read: GuestBytes<36> = memory.read(a.a2, count: op.argumentSize) else {
                return .failure(Refusal(.EFAULT, "the physdev_op argument is not readable guest memory"))
            }
            arg = read
        }
        switch op {
        case .setIOPL:
            let iopl = arg.u32(0)
            guard iopl <= PhysdevLayout.maxIOPL else { return .failure(Refusal(.EINVAL, "set_iopl: an IOPL above 3")) }
            return .success(.setIOPL(iopl))
        case .setIOBitmap:
            let va = arg.u32(PhysdevLayout.bitmapOffset), ports = arg.u32(PhysdevLayout.nrPortsOffset)
            // Xen checks the handle's range (guest_handle_okay) even for a null bitmap.
            guard let bitmap = GuestRange(va, count: PhysdevLayout.ioBitmapBytes), ports <= PhysdevLayout.maxPorts else {
                return .failure(Refusal(.EINVAL, "set_iobitmap: the bitmap is not guest memory or covers more than 65536 ports"))
            }
            return .success(.setIOBitmap(bitmap: ports == 0 ? nil : bitmap, ports: ports))
        case .irqStatusQuery:
            guard arg.u32(PhysdevLayout.statusIRQOffset) < PirqLimits.perDomain else {
                return .failure(Refusal(.EINVAL, "irq_status_query: past the domain's pirqs"))
            }
            guard let out = GuestRange(a.a2, count: 8)?.field(PhysdevLayout.statusFlagsOffset, 4) else {
                return .failure(Refusal(.EFAULT, "the physdev_op argument is not readable guest memory"))
            }
            return .success(.irqStatusQuery(pirq: arg.u32(PhysdevLayout.statusIRQOffset), out: out))
        case .eoi:
            guard arg.u32(0) < PirqLimits.perDomain else { return .failure(Refusal(.EINVAL, "eoi: past the domain's pirqs")) }
            return .success(.eoi(pirq: arg.u32(0)))
        case .pirqEOIGmfnV1, .pirqEOIGmfnV2:
            return .success(.registerEOIMap(mfn: arg.u32(0), autoUnmask: op == .pirqEOIGmfnV1))
        case .irqUnmaskNotify:
            return .success(.unmaskNotify)
        case .getFreePirq, .mapPirq, .unmapPirq:
            guard privileged else {
                if op == .getFreePirq { return .failure(Refusal(.ENOSYS, "get_free_pirq: physical IRQs are not offered to domUs here")) }
                return .failure(Refusal(.EPERM, "mapping physical IRQs is for dom0 (or a device model) only"))
            }
            if op == .mapPirq {
                guard let out = GuestRange(a.a2, count: UInt32(PhysdevMapPirqLayout.size))?.field(PhysdevMapPirqLayout.pirqOffset, 4) else {
                    return .failure(Refusal(.EFAULT, "the physdev_op argument is not readable guest memory"))
                }
                return .success(.mapPirq(domain: arg.u16(PhysdevMapPirqLayout.domidOffset), type: arg.u32(PhysdevMapPirqLayout.typeOffset),
                                         index: arg.u32(PhysdevMapPirqLayout.indexOffset), pirq: arg.u32(PhysdevMapPirqLayout.pirqOffset), out: out))
            }
            if op == .unmapPirq {
                return .success(.unmapPirq(domain: arg.u16(PhysdevUnmapPirqLayout.domidOffset), pirq: arg.u32(PhysdevUnmapPirqLayout.pirqOffset)))
            }
            return .success(.notOffered(op))
        case .freeIRQVector:
            return .failure(Refusal(.ENOSYS, "free_irq_vector is a command Xen does not answer"))
        case .apicRead, .apicWrite, .allocIRQVector, .managePCIAdd, .managePCIRemove, .restoreMSI,
             .managePCIAddExt, .setupGSI, .pciMMCFGReserved, .pciDeviceAdd, .pciDeviceRemove, .restoreMSIExt,
             .dbgpOp, .prepareMSIX, .releaseMSIX, .pciDeviceReset:
            guard privileged else { return .failure(Refusal(.EPERM, "this physdev_op command is for dom0 only")) }
            return .success(.notOffered(op))
        }
    }
}
