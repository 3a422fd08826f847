// memory_op (12) commands Apus answers, as xen/include/public/memory.h numbers them.
// Numbers and layouts with IN/OUT contracts only; the hypervisor decides the answers.

public enum MemoryOpCommand: UInt32, Sendable {
    case increaseReservation = 0
    case decreaseReservation = 1
    /// OUT (return value): the highest machine frame number in the machine.
    case maximumRAMPage = 2
    /// IN arg: pointer to a domid_t (u16, DOMID_SELF allowed). OUT (return value): pages the domain holds.
    case currentReservation = 3
    /// As currentReservation: the most pages the domain may hold.
    case maximumReservation = 4
    case machphysMFNList = 5
    case populatePhysmap = 6
    /// IN/OUT arg: struct xen_memory_map (x86_32: nr_entries u32 @0 IN capacity / OUT count,
    /// buffer u32 @4 IN guest pointer to e820 entries of 20 bytes: addr u64, size u64, type u32).
    case memoryMap = 9
    case machineMemoryMap = 10
}

public enum XenMemoryMapLayout {
    public static let nrEntriesOffset = 0
    public static let bufferOffset = 4
    public static let e820EntrySize = 20
    public static let e820RAM: UInt32 = 1
}
