// Emulated guest writes to its own read-only L1 tables (Xen's ptwr, "writable page tables"): one 4- or 8-byte store, checked as an L1 update.
// It must never apply a write to anything but a validated L1 of the writing domain, nor let a 4-byte half produce an unchecked entry.
//
// A 4-byte write is combined with the other half of the existing entry and the whole
// 8-byte entry is checked. Linux writes a PAE entry high half first; the combined entry
// (new high, old low) may then be invalid. As Xen does, such an upper-half write is applied
// with the present bit cleared, which grants nothing, and the low-half write that follows
// makes the entry present through the same check.

extension FrameTable {
    /// The guest wrote `width` bytes (4 or 8) of `value` at `offset` in L1 frame `l1Frame`,
    /// which it maps read-only. Nil when the write was checked and applied; on refusal nothing
    /// changed and the caller bounces the page fault to the guest. The state is only read (inout
    /// passes it by reference).
    public mutating func ptwrWrite<M: PhysicalMemory>(
        l1Frame: UInt32, offset: UInt32, width: Int, value: UInt64, state: inout DomainMemoryState, memory: inout M
    ) -> MemoryError? {
        guard width == 4 || width == 8, offset < PAE.pageSize, offset % UInt32(width) == 0 else {
            return .badWrite
        }
        if let refusal = referenceRefusal(UInt64(l1Frame), &state, allowExtras: false) { return refusal }
        guard validatedTableLevel(l1Frame, ownerRaw: state.ownerRaw) == .l1 else { return .notAPageTable }
        let index = Int(offset >> 3)
        guard let old = memory.load64(FrameTable.entryAddress(l1Frame, index)) else { return .memoryFault }
        let upperHalf = width == 4 && offset & 4 != 0
        let full: UInt64
        if width == 8 {
            full = value
        } else if upperHalf {
            full = old & 0xFFFF_FFFF | (value & 0xFFFF_FFFF) << 32
        } else {
            full = old & 0xFFFF_FFFF_0000_0000 | value & 0xFFFF_FFFF
        }
        let refusal = modifyEntry(table: l1Frame, level: .l1, index: index, raw: full, preserveAD: false, &state, &memory)
        guard let refusal else { return nil }
        if upperHalf && full & PTEFlags.present.rawValue != 0 && refusal != .memoryFault {
            return modifyEntry(table: l1Frame, level: .l1, index: index, raw: full & ~PTEFlags.present.rawValue,
                               preserveAD: false, &state, &memory)
        }
        return refusal
    }
}
