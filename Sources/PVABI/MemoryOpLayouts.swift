// Argument layouts of memory_op (12) that MemoryOps.swift leaves implicit: the domid_t a reservation
// query names, and one e820 entry of XENMEM_memory_map. Layouts only: it must never decide an answer.

/// XENMEM_current_reservation / XENMEM_maximum_reservation argument: a pointer to one domid_t.
public enum ReservationDomainLayout {
    /// u16, IN: the domain asked about (DOMID_SELF: the caller).
    public static let domidOffset: Int = 0
    public static let size: Int = 2
}

/// struct e820entry as XENMEM_memory_map fills it (20 bytes, packed, as in xen/include/public/arch-x86).
public enum E820EntryLayout {
    /// u64, OUT: first byte of the region (pseudo-physical).
    public static let addrOffset: Int = 0
    /// u64, OUT: its length in bytes.
    public static let sizeOffset: Int = 8
    /// u32, OUT: E820 type (XenMemoryMapLayout.e820RAM for usable memory).
    public static let typeOffset: Int = 16
    public static let size: Int = 20
}

/// struct xen_memory_map on x86_32 (8 bytes; XenMemoryMapLayout holds its field offsets).
public enum XenMemoryMapSize {
    public static let size: Int = 8
}
