// MemoryOpDecode.swift: memory_op (12) decoded into a typed request: the reservation queries with the
// domid they name, the highest machine frame, and the memory map with the GuestRanges of its first e820
// entry and its nr_entries field. Reads only through GuestMemoryAccess; must never act.

import PVABI

public enum MemoryOpRequest {
    case maximumRAMPage
    /// IN: the domid asked about (DOMID_SELF not yet resolved).
    case currentReservation(domain: UInt16)
    case maximumReservation(domain: UInt16)
    /// OUT: one e820 entry to `firstEntry`, then the entry count to `entryCount`.
    case memoryMap(firstEntry: GuestRange, entryCount: GuestRange)

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
            guard arg.u32(XenMemoryMapLayout.nrEntriesOffset) >= 1 else { return .failure(Refusal(.EINVAL, "the memory map buffer has room for no entry")) }
            guard let first = GuestRange(arg.u32(XenMemoryMapLayout.bufferOffset), count: UInt32(E820EntryLayout.size)) else {
                return .failure(Refusal(.EFAULT, "the memory map buffer is not writable guest memory"))
            }
            return .success(.memoryMap(firstEntry: first, entryCount: entryCount))
        default:
            return .failure(Refusal(.ENOSYS, "this memory_op command is not implemented"))
        }
    }
}
