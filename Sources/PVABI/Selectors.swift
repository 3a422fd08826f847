// The segment selectors of the Xen x86_32 PV ABI and the split of the GDT between guest and hypervisor.
// Numbers only: this file must never hold logic or descriptor encodings (ApusCore/Descriptors.swift does).

/// Selectors a pv32pae guest may load without building its own GDT. They index the
/// hypervisor's reserved GDT page (entries 7168 and up), so every guest sees them.
/// The low two bits are the requested privilege level, bit 2 clear means GDT.
public enum Selector {
    /// Guest kernel code, ring 1, base 0, limit ending below the hypervisor. Loaded into
    /// CS at start of day and when a trap or event is bounced to the guest kernel.
    public static let flatRing1CS: UInt16 = 0xe019
    /// Guest kernel data, ring 1. Loaded into DS/ES/FS/GS at start of day.
    public static let flatRing1DS: UInt16 = 0xe021
    /// Guest kernel stack, ring 1: the same descriptor as the data selector.
    public static let flatRing1SS: UInt16 = 0xe021
    /// Guest user code, ring 3.
    public static let flatRing3CS: UInt16 = 0xe02b
    /// Guest user data, ring 3.
    public static let flatRing3DS: UInt16 = 0xe033
    /// Guest user stack, ring 3: the same descriptor as the data selector.
    public static let flatRing3SS: UInt16 = 0xe033

    /// Hypervisor code, ring 0, flat 4 GiB. Never valid in a guest-supplied frame.
    public static let hypervisorCS: UInt16 = 0xe008
    /// Hypervisor data and stack, ring 0, flat 4 GiB.
    public static let hypervisorDS: UInt16 = 0xe010
    /// The hypervisor's task state segment (holds the ring-0 stack for traps from rings 1 and 3).
    public static let tss: UInt16 = 0xe040
    /// The LDT descriptor the hypervisor loads with `lldt` for the running guest's LDT
    /// (mmuext SET_LDT): GDT entry 7177, right after the TSS, as 32-bit Xen placed it
    /// (asm-x86/desc.h: TSS_ENTRY = FIRST_RESERVED_GDT_ENTRY + 8, LDT_ENTRY = TSS_ENTRY + 1).
    /// Guests never load it; they name their LDT with selectors that have bit 2 set.
    public static let hypervisorLDT: UInt16 = 0xe048

    /// The first GDT page (of 4 KiB, 512 entries) that belongs to the hypervisor.
    /// Pages 0-13 are the guest's (set_gdt); page 14 and up are the hypervisor's.
    public static let firstReservedGDTPage: Int = 14
    /// The first GDT entry index the guest may not define: 14 * 512.
    public static let firstReservedGDTEntry: Int = 7168
    /// Eight-byte descriptors in one 4 KiB page.
    public static let gdtEntriesPerPage: Int = 512
}
