// The rules for one guest page-table entry at each PAE level (Xen's get_page_from_l1e/l2e/l3e) and the references each holds.
// It must never accept an entry that reaches a frame the domain may not map, maps a table writable, or bypasses an L1.
//
// L1: a present entry maps a frame the domain owns or was offered (shared_info): one general
//     reference, plus a `.writable` type reference when RW is set, which fails for page tables
//     and descriptor tables. PAT and global are refused, as are bits 52-62. A frame that is not
//     RAM is device memory (DeviceFrames.swift): given, uncached, and holding no reference.
// L2: a present entry points at an L1 of the same domain (an `.l1` type reference, which
//     validates it); superpages are refused, so every mapping goes through a checked L1 and a
//     recursive L2 -> L2 entry fails the type rule.
// L3: a present entry points at an L2 (`.l2`, or the slot-3 type for slot 3). RW/U/A/D are
//     accepted because real builders set them; the hardware PDPT copy drops them.

extension PageTableEntry {
    /// Bits 52-62: ignored by the MMU, reserved to the hypervisor.
    public static let reservedHighBits: UInt64 = 0x7FF0_0000_0000_0000
}

/// Bit checks per level, independent of who owns what.
public enum EntryRules {
    // Literals (PAT/PS 1 << 7, G 1 << 8, NX 1 << 63), so no lazy initializer guards the hot paths;
    // EntryRules tests pin them to the PTEFlags they stand for.
    static let l1Refused: UInt64 = 0x180
    static let l3Refused: UInt64 = 0x8000_0000_0000_0180

    /// Why a present L1 entry's bits are refused.
    @inline(__always)
    public static func l1BitsRefusal(_ e: PageTableEntry) -> MemoryError? {
        if e.raw & PageTableEntry.reservedHighBits != 0 { return .reservedBits }
        if e.raw & l1Refused != 0 { return .l1CacheOrGlobalBits }
        return nil
    }

    /// Why a present L2 entry's bits are refused.
    public static func l2BitsRefusal(_ e: PageTableEntry) -> MemoryError? {
        if e.raw & PageTableEntry.reservedHighBits != 0 { return .reservedBits }
        if e.flags.contains(.pageSize) { return .superpage }
        if e.flags.contains(.global) { return .l2GlobalBit }
        return nil
    }

    /// Why a present L3 entry's bits are refused.
    public static func l3BitsRefusal(_ e: PageTableEntry) -> MemoryError? {
        if e.raw & PageTableEntry.reservedHighBits != 0 { return .reservedBits }
        if e.raw & l3Refused != 0 { return .l3ReservedFlags }
        return nil
    }

    /// The entry the CPU's PDPT gets for a validated guest L3 entry: frame, present and the
    /// cache bits only (RW, U, A, D and the rest are reserved in a PAE PDPTE).
    public static func hardwarePDPTEntry(_ raw: UInt64) -> UInt64 {
        guard raw & PTEFlags.present.rawValue != 0 else { return 0 }
        let kept = PageTableEntry.frameMask | PTEFlags.present.rawValue
            | PTEFlags.writeThrough.rawValue | PTEFlags.cacheDisable.rawValue
        return raw & kept
    }
}

extension FrameTable {
    /// Takes what a present L1 entry needs; nothing for a non-present one.
    @inline(__always)
    mutating func getFromL1e<M: PhysicalMemory>(_ e: PageTableEntry, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        guard e.isPresent else { return nil }
        if let refusal = EntryRules.l1BitsRefusal(e) { return refusal }
        // One check covers both references: extras may be mapped, writable too (data pages).
        if let refusal = referenceRefusal(e.frame, &state, allowExtras: true) {
            return isDeviceFrame(e.frame) ? deviceEntryRefusal(e, &state, asRAM: refusal) : refusal
        }
        let frame = UInt32(truncatingIfNeeded: e.frame)
        if let refusal = incrementRefCount(frame) { return refusal }
        if e.raw & PTEFlags.writable.rawValue != 0,
           let refusal = takeType(frame, .writable, &state, &memory, hypervisorL2: false) {
            putPage(frame)
            return refusal
        }
        return nil
    }

    /// Gives back what `getFromL1e` took for `e`, an entry of an L1 whose owner's raw encoding is
    /// `tableOwnerRaw`. A grant PTE (another domain's frame) holds no paging reference: its grant
    /// mapping holds them.
    @inline(__always)
    mutating func putFromL1e<M: PhysicalMemory>(_ e: PageTableEntry, tableOwnerRaw: UInt16, _ memory: inout M) {
        guard e.isPresent, !isGrantEntry(e, tableOwnerRaw: tableOwnerRaw), !isDeviceFrame(e.frame) else { return }
        let frame = UInt32(truncatingIfNeeded: e.frame)
        let writable = e.raw & PTEFlags.writable.rawValue != 0
        noteDropped(level: .l1, writable: writable)
        if writable { putPageType(frame, memory: &memory) }
        putPage(frame)
    }

    /// Takes what a present L2 entry needs: the L1 it points at, validated.
    mutating func getFromL2e<M: PhysicalMemory>(_ e: PageTableEntry, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        guard e.isPresent else { return nil }
        if let refusal = EntryRules.l2BitsRefusal(e) { return refusal }
        if let refusal = referenceRefusal(e.frame, &state, allowExtras: false) { return refusal }
        return getPageAndType(UInt32(e.frame), .l1, &state, &memory, hypervisorL2: false, allowExtras: false)
    }

    mutating func putFromL2e<M: PhysicalMemory>(_ e: PageTableEntry, _ memory: inout M) {
        guard e.isPresent else { return }
        noteDropped(level: .l2, writable: false)
        putPageAndType(UInt32(e.frame), memory: &memory)
    }

    /// Takes what a present L3 entry in `slot` needs: the L2 it points at, validated (as the
    /// hypervisor-slot L2 for slot 3).
    mutating func getFromL3e<M: PhysicalMemory>(_ e: PageTableEntry, slot: Int, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        guard e.isPresent else { return nil }
        if let refusal = EntryRules.l3BitsRefusal(e) { return refusal }
        if let refusal = referenceRefusal(e.frame, &state, allowExtras: false) { return refusal }
        return getPageAndType(UInt32(e.frame), .l2, &state, &memory, hypervisorL2: slot == 3, allowExtras: false)
    }

    mutating func putFromL3e<M: PhysicalMemory>(_ e: PageTableEntry, _ memory: inout M) {
        guard e.isPresent else { return }
        noteDropped(level: .l3, writable: false)
        putPageAndType(UInt32(e.frame), memory: &memory)
    }
}
