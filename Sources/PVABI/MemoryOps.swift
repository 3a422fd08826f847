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
    /// OUT arg: struct xen_machphys_mapping (x86_32: v_start u32 @0, v_end u32 @4, max_mfn u32 @8):
    /// where the read-only M2P table lies in every address space and the last frame it covers.
    case machphysMapping = 12
}

/// struct xen_machphys_mapping on x86_32 (12 bytes, every field a xen_ulong_t).
public enum MachphysMappingLayout {
    /// u32, OUT: first virtual address of the M2P (MACH2PHYS_VIRT_START).
    public static let vStartOffset = 0
    /// u32, OUT: one past its last byte (MACH2PHYS_VIRT_END).
    public static let vEndOffset = 4
    /// u32, OUT: the highest machine frame it has an entry for (MACH2PHYS_NR_ENTRIES - 1).
    public static let maxMFNOffset = 8
    public static let size = 12
}

/// struct xen_memory_map on x86_32 (8 bytes), memory_op XENMEM_memory_map's argument.
public enum XenMemoryMapLayout {
    /// u32, IN: how many e820 entries the buffer holds; OUT: how many were written.
    public static let nrEntriesOffset = 0
    /// u32 (a guest handle), IN: guest pointer to the e820 entries.
    public static let bufferOffset = 4
    public static let size = 8
    public static let e820EntrySize = E820EntryLayout.size
    public static let e820RAM: UInt32 = E820EntryLayout.typeRAM
}

/// One e820 entry as memory_map writes it (20 bytes, packed, as the BIOS defines it).
public enum E820EntryLayout {
    /// u64, OUT: first byte of the range (pseudo-physical for a PV guest).
    public static let addrOffset = 0
    /// u64, OUT: length of the range in bytes.
    public static let sizeOffset = 8
    /// u32, OUT: 1 RAM, 2 reserved, ...
    public static let typeOffset = 16
    public static let size = 20
    /// E820_RAM.
    public static let typeRAM: UInt32 = 1
}
