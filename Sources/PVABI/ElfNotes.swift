// The Xen ELF note types (name "Xen", in a PT_NOTE segment) a PV kernel uses to tell the builder how to load it.
// Numbers and meanings only: this file must never parse notes or decide whether a kernel is acceptable.
//
// Numeric notes carry a 4- or 8-byte little-endian value; string notes a NUL-terminated string.
// Every note is IN for the builder: the kernel states it, the builder reads it.

public enum XenElfNote: UInt32, Sendable {
    /// IN string: legacy NAME=VALUE pair.
    case info = 0
    /// IN numeric: virtual address of the entry point (absent: the ELF e_entry).
    case entry = 1
    /// IN numeric: virtual address of the page the builder fills with hypercall stubs.
    case hypercallPage = 2
    /// IN numeric: virtual address the pseudo-physical space starts at (absent: 0).
    case virtBase = 3
    /// IN numeric: subtracted from a segment's p_paddr, with virt_base added, to get where it
    /// is loaded (absent: 0). Old kernels put __PAGE_OFFSET into p_paddr.
    case paddrOffset = 4
    /// IN string: the hypervisor interface the kernel was written for, "xen-3.0".
    case xenVersion = 5
    /// IN string: the guest's name, free text.
    case guestOS = 6
    /// IN string: the guest's version, free text.
    case guestVersion = 7
    /// IN string: the loader the image expects, "generic".
    case loader = 8
    /// IN string: "yes", "yes[extended-cr3]", "bimodal" or "no": whether the kernel runs with PAE paging.
    case paeMode = 9
    /// IN string: "|"-separated feature names; a name preceded by "!" is one the kernel requires.
    case features = 10
    /// IN string: "yes" when the kernel wants its symbol table loaded after the image.
    case bsdSymtab = 11
    /// IN numeric: the lowest address the hypervisor hole may start at.
    case hvStartLow = 12
    /// IN numeric list: mask/value pairs recognising non-present L1 entries that hold machine frames.
    case l1MFNValid = 13
    /// IN numeric: the kernel supports cooperative suspend cancellation.
    case suspendCancel = 14
    /// IN numeric: where the kernel wants the initial P2M placed, outside the initial mapping (64-bit only).
    case initP2M = 15
    /// IN numeric: the kernel accepts an initrd given by pfn and not mapped (SIF_MOD_START_PFN).
    case modStartPFN = 16
    /// IN numeric: a bitmap of XENFEAT_* numbers the kernel supports, beside the FEATURES string.
    case supportedFeatures = 17
    /// IN numeric: 32-bit physical entry point for PVH/HVM boot; ignored for PV.
    case phys32Entry = 18
}
