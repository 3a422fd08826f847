// MemoryOpDecode.swift: memory_op (12) decoded into a typed request: the reservation queries with the
// domid they name, the highest machine frame, and the memory map with the GuestRanges of its first e820
// entry and its nr_entries field, and where the M2P mapping goes (machphys_mapping). The M2P's
// own place is fixed by the ABI: `MachphysMapping.pv32` is what every 32-bit PV guest is told. Reads only through GuestMemoryAccess; must never act.

import PVABI

public enum MemoryOpRequest {
    case maximumRAMPage
    /// IN: the domid asked about (DOMID_SELF not yet resolved).
    case currentReservation(domain: UInt16)
    case maximumReservation(domain: UInt16)
    /// OUT: one e820 entry to `firstEntry` (nil: the buffer has room for none), then the number
    /// written to `entryCount`.
    case memoryMap(firstEntry: GuestRange?, entryCount: GuestRange)
    /// OUT: a xen_machphys_mapping (12 bytes) to the range.
    case machphysMapping(out: GuestRange)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<MemoryOpRequest> {
        guard let command = MemoryOpCommand(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown memory_op command")) }
        switch command {
        case .maximumRAMPage:
            return .success(.maximumRAMPage)
        case .currentReservation, .maximumReservation:
            guard let arg: GuestBytes<2> = memory.read(a.a2, count: ReservationDomainLayout.size) else {
                return .failure(Refusal(.EFAULT, "domid is not readable guest memory"))
            }
            let domain = arg.u16(ReservationDomainLayout.domidOffset)
            return .success(command == .currentReservation ? .currentReservation(domain: domain) : .maximumReservation(domain: domain))
        case .memoryMap:
            guard let range = GuestRange(a.a2, count: UInt32(XenMemoryMapLayout.size)), let arg: GuestBytes<8> = memory.read(range),
                  let entryCount = range.field(XenMemoryMapLayout.nrEntriesOffset, 4) else {
                return .failure(Refusal(.EFAULT, "xen_memory_map is not readable guest memory"))
            }
            // As Xen: the count is cut to the entries there are (one), so a buffer with room for none
            // gets none and the call still succeeds.
            guard arg.u32(XenMemoryMapLayout.nrEntriesOffset) >= 1 else { return .success(.memoryMap(firstEntry: nil, entryCount: entryCount)) }
            guard let first = GuestRange(arg.u32(XenMemoryMapLayout.bufferOffset), count: UInt32(E820EntryLayout.size)) else {
                return .failure(Refusal(.EFAULT, "the memory map buffer is not writable guest memory"))
            }
            return .success(.memoryMap(firstEntry: first, entryCount: entryCount))
        case .machphysMapping:
            guard let out = GuestRange(a.a2, count: UInt32(MachphysMappingLayout.size)) else {
                return .failure(Refusal(.EFAULT, "xen_machphys_mapping is not writable guest memory"))
            }
            return .success(.machphysMapping(out: out))
        default:
            return .failure(Refusal(.ENOSYS, "this memory_op command is not implemented"))
        }
    }
}

/// What XENMEM_machphys_mapping tells a pv32 guest: the read-only M2P at MACH2PHYS_VIRT_START,
/// 16 MiB, so it has entries for machine frames 0 through (16 MiB / 4) - 1 (Xen's
/// MACH2PHYS_NR_ENTRIES - 1), whatever the machine's memory.
public enum MachphysMapping {
    public static let vStart: UInt32 = XenLayout.mach2physVirtStart
    public static let vEnd: UInt32 = XenLayout.mach2physVirtEnd
    public static let maxMFN: UInt32 = (XenLayout.mach2physVirtEnd - XenLayout.mach2physVirtStart) / 4 - 1

    /// The structure as the guest receives it.
    public static var bytes: GuestBytes<12> {
        var out = GuestBytes<12>(count: MachphysMappingLayout.size)
        out.set32(MachphysMappingLayout.vStartOffset, vStart)
        out.set32(MachphysMappingLayout.vEndOffset, vEnd)
        out.set32(MachphysMappingLayout.maxMFNOffset, maxMFN)
        return out
    }
}
