// Changing one entry of a validated page table (Xen's mod_l1/l2/l3_entry): shared by mmu_update, update_va_mapping and ptwr.
// It must never write an entry whose references it could not take, and never release the old entry's references before the new one holds its own.
//
// Order: check and take the new entry's references, write it, then give back the old
// entry's. Replacing an entry with one naming the same frame is therefore always safe (the
// frame's counts never touch zero in between). Guests may not touch the hypervisor's slots
// 428-511 of a slot-3 L2, nor L3 slot 3 of a table in use: the hypervisor's mappings must
// stay valid without interruption (Xen refuses the same).

extension FrameTable {
    /// Replaces entry `index` of `table`, a validated table of level `level`, with `raw`
    /// (keeping the old accessed and dirty bits when `preserveAD`). Nil on success; on
    /// refusal nothing changed.
    mutating func modifyEntry<M: PhysicalMemory>(
        table: UInt32, level: PageType, index: Int, raw: UInt64, preserveAD: Bool,
        _ state: DomainMemoryState, _ memory: inout M
    ) -> MemoryError? {
        precondition(level.isPageTable && index >= 0 && index < PAE.entriesPerTable, "modifyEntry on a bad slot")
        switch level {
        case .l2:
            let hypervisorL2 = records[Int(table)].flags.contains(.hypervisorSlots)
            if !FrameTable.isGuestL2Slot(index, hypervisorL2: hypervisorL2) { return .hypervisorSlotUpdate }
        case .l3:
            if index == 3 { return .l3SlotThreeUpdate }
            if index > 3 { return .badPointer }
        default: break
        }
        let address = FrameTable.entryAddress(table, index)
        guard let oldRaw = memory.load64(address) else { return .memoryFault }
        var newRaw = raw
        if preserveAD { newRaw |= oldRaw & (PTEFlags.accessed.rawValue | PTEFlags.dirty.rawValue) }
        let old = PageTableEntry(raw: oldRaw)
        let new = PageTableEntry(raw: newRaw)
        if level == .l1 && isGrantEntry(old, tableOwner: state.owner) { return .grantMappingEntry }

        let refusal: MemoryError?
        switch level {
        case .l1: refusal = getFromL1e(new, state, &memory)
        case .l2: refusal = getFromL2e(new, state, &memory)
        default: refusal = getFromL3e(new, slot: index, state, &memory)
        }
        if let refusal { return refusal }

        guard memory.store64(address, newRaw) else {
            putEntry(new, level, state.owner, &memory)
            return .memoryFault
        }
        putEntry(old, level, state.owner, &memory)
        return nil
    }

    mutating func putEntry<M: PhysicalMemory>(_ e: PageTableEntry, _ level: PageType, _ tableOwner: FrameOwner, _ memory: inout M) {
        switch level {
        case .l1: putFromL1e(e, tableOwner: tableOwner, &memory)
        case .l2: putFromL2e(e, &memory)
        default: putFromL3e(e, &memory)
        }
    }

    /// The level of `frame` if it is a validated page table of the domain in use (type count > 0).
    func validatedTableLevel(_ frame: UInt32, _ state: DomainMemoryState) -> PageType? {
        let record = record(frame)
        guard record.owner == state.owner, record.type.isPageTable, record.typeCount > 0,
              record.flags.contains(.validated) else { return nil }
        return record.type
    }
}
