// The fixed virtual addresses a pv32pae guest relies on: where the hypervisor hole begins and the M2P table.
// Guest-visible constants only: the hypervisor's private layout belongs in ApusCore/AddressMap.swift, never here.

/// Virtual layout shared by every pv32pae address space.
public enum XenLayout {
    /// Lowest virtual address the hypervisor owns. Guests may not map anything at or above
    /// it in their own page tables; the top 168 MiB are the hypervisor's.
    public static let hypervisorVirtStart: UInt32 = 0xF580_0000
    /// Start of the read-only machine-to-physical table (4 bytes per machine frame),
    /// readable from ring 1 so guest kernels can translate without a hypercall.
    public static let mach2physVirtStart: UInt32 = 0xF580_0000
    /// One past the end of the read-only M2P table (16 MiB: 4 Mi machine frames, 16 GiB).
    public static let mach2physVirtEnd: UInt32 = 0xF680_0000
    /// Guest code and data segments must end below this: the flat guest selectors have
    /// limit 0xF67FFFFF, so ring 1 reaches the M2P and nothing of the hypervisor above it.
    public static let guestSegmentMaxAddr: UInt32 = 0xF680_0000
}
