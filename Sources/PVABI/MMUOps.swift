// The commands and layouts of mmu_update (1), update_va_mapping (14) and mmuext_op (26), as xen.h numbers them.
// Numbers, layouts and IN/OUT contracts only: this file must never validate an entry or touch a frame.

/// mmu_update request kinds: the low two bits of `ptr` in `struct mmu_update {u64 ptr; u64 val;}` (16 bytes).
public enum MMUUpdateCommand: UInt32, Sendable {
    /// IN ptr: machine address of an 8-byte entry in a page-table frame (bits 0-1 clear);
    /// val: the new entry. The entry is checked against the rules of its table's level.
    case normalPTUpdate = 0
    /// IN ptr: (mfn << 12) | 1; val: the pseudo-physical frame to record in M2P[mfn].
    case machphysUpdate = 1
    /// As normalPTUpdate, but the accessed and dirty bits already in the entry are kept.
    case ptUpdatePreserveAD = 2
    /// HVM/PVH only; PV guests are answered -ENOSYS.
    case ptUpdateNoTranslate = 3

    /// Size of `struct mmu_update` in guest memory.
    public static let requestSize = MMUUpdateLayout.size
}

/// struct mmu_update (16 bytes), one element of mmu_update's request array (xen.h).
public enum MMUUpdateLayout {
    /// u64, IN: the request kind in bits 0-1 (an MMUUpdateCommand), the rest its address
    /// (a page-table entry's machine address, or mfn << 12 for machphysUpdate).
    public static let ptrOffset: Int = 0
    /// u64, IN: the new entry, or the pfn for machphysUpdate.
    public static let valOffset: Int = 8
    public static let size: Int = 16
}

/// mmuext_op commands: `struct mmuext_op {u32 cmd; u32 arg1; u32 arg2;}` on x86_32 (12 bytes).
public enum MMUExtCommand: UInt32, Sendable {
    /// IN arg1: mfn of a table to validate and pin at level 1, 2, 3 (4 is refused on PAE).
    case pinL1Table = 0
    case pinL2Table = 1
    case pinL3Table = 2
    case pinL4Table = 3
    /// IN arg1: mfn of a table pinned earlier; drops the pin's reference.
    case unpinTable = 4
    /// IN arg1: mfn of the L3 to use as the address space (the guest's CR3).
    case newBaseptr = 5
    /// Flush this vCPU's TLB.
    case tlbFlushLocal = 6
    /// IN arg1: linear address whose translation to drop on this vCPU.
    case invlpgLocal = 7
    /// IN arg2: guest pointer to a vCPU bitmap: flush their TLBs.
    case tlbFlushMulti = 8
    /// IN arg1: linear address; arg2: guest pointer to a vCPU bitmap.
    case invlpgMulti = 9
    /// Flush every vCPU's TLB.
    case tlbFlushAll = 10
    /// IN arg1: linear address to drop on every vCPU.
    case invlpgAll = 11
    /// Write back and invalidate caches (privileged).
    case flushCache = 12
    /// IN arg1: linear address of the LDT (page aligned); arg2: number of entries (at most 8192).
    case setLDT = 13
    /// x86_64 only.
    case newUserBaseptr = 15
    /// IN arg1: mfn to zero.
    case clearPage = 16
    /// IN arg1: destination mfn; arg2: source mfn.
    case copyPage = 17
    case flushCacheGlobal = 18
    case markSuper = 19
    case unmarkSuper = 20

    /// Size of `struct mmuext_op` in x86_32 guest memory.
    public static let opSize = MMUExtOpLayout.size
}

/// struct mmuext_op on x86_32 (12 bytes), one element of mmuext_op's array (xen.h). The two
/// argument unions are each one 4-byte word on x86_32 (xen_pfn_t, unsigned long, a pointer).
public enum MMUExtOpLayout {
    /// u32, IN: an MMUExtCommand.
    public static let cmdOffset: Int = 0
    /// u32, IN: arg1 (union of mfn and linear_addr), as the command's comment says.
    public static let arg1Offset: Int = 4
    /// u32, IN: arg2 (union of nr_ents, vcpumask and src_mfn), as the command's comment says.
    public static let arg2Offset: Int = 8
    public static let size: Int = 12
}

/// update_va_mapping flags (arg4): the TLB flush the guest asks for after the update.
public enum UVMF {
    /// Bits 0-1: no flush 0, full TLB flush 1, single-page invlpg 2.
    public static let flushTypeMask: UInt32 = 3
    public static let none: UInt32 = 0
    public static let tlbFlush: UInt32 = 1
    public static let invlpg: UInt32 = 2
    /// The rest of the word: 0 this vCPU only, 4 every vCPU, anything else a guest pointer to a vCPU bitmap.
    public static let local: UInt32 = 0
    public static let all: UInt32 = 4
}
