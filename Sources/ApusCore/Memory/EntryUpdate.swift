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
    /// refusal nothing changed. The state is inout only to pass it by reference.
    @inline(__always)
    mutating func modifyEntry<M: PhysicalMemory>(
        table: UInt32, level: PageType, index: Int, raw: UInt64, preserveAD: Bool,
        _ state: inout DomainMemoryState, _ memory: inout M
    ) -> MemoryError? {
        precondition(level.isPageTable && index >= 0 && index < PAE.entriesPerTable, "modifyEntry on a bad slot")
        switch level {
        case .l2:
            tablesChanged()
            let hypervisorL2 = records[Int(table)].flags.contains(.hypervisorSlots)
            if !FrameTable.isGuestL2Slot(index, hypervisorL2: hypervisorL2) { return .hypervisorSlotUpdate }
        case .l3:
            tablesChanged()
            if index == 3 { return .l3SlotThreeUpdate }
            if index > 3 { return .badPointer }
        default: break
        }
        let address = FrameTable.entryAddress(table, index)
        // The entry in place when the memory lends it: one mapping for the load and the fast
        // path's store, with only frame records read in between.
        let slot = memory.tableEntries(table).map { $0 + index }
        let oldRaw: UInt64
        if let slot {
            oldRaw = slot.pointee
        } else {
            guard let loaded = memory.load64(address) else { return .memoryFault }
            oldRaw = loaded
        }
        var newRaw = raw
        if preserveAD { newRaw |= oldRaw & (PTEFlags.accessed.rawValue | PTEFlags.dirty.rawValue) }
        let old = PageTableEntry(raw: oldRaw)
        let new = PageTableEntry(raw: newRaw)
        if level == .l1 && isGrantEntry(old, tableOwnerRaw: state.ownerRaw) { return .grantMappingEntry }

        // Xen's fast path (mod_l1_entry): an entry that needs exactly the references the old one
        // holds is checked for its bits and written, no count touched.
        if level != .l3 && FrameTable.holdsSameReferences(old, new, level) {
            if new.isPresent, let refusal = level == .l1 ? EntryRules.l1BitsRefusal(new) : EntryRules.l2BitsRefusal(new) {
                return refusal
            }
            if let slot {
                slot.pointee = newRaw
                return nil
            }
            return memory.store64(address, newRaw) ? nil : .memoryFault
        }
        // Taking the new entry's references may validate tables (other frames mapped): the
        // general case stores by address.
        return replaceEntry(address, old, new, level: level, index: index, &state, &memory)
    }

    /// Whether `new` needs exactly the references `old` holds, at L1 or L2: neither is present,
    /// or both are and name the same frame (at L1 with the same RW bit, which decides the
    /// writable type reference, and the same PCD bit, which device memory must keep). `old` passed the rules when it was written and the frame's
    /// owner cannot change while the entry references it, so only `new`'s bits remain to check.
    @inline(__always)
    static func holdsSameReferences(_ old: PageTableEntry, _ new: PageTableEntry, _ level: PageType) -> Bool {
        var decisive = PageTableEntry.frameMask | PTEFlags.present.rawValue
        // At L1 also PCD: a device-memory entry must stay uncached (DeviceFrames.swift).
        if level == .l1 { decisive |= PTEFlags.writable.rawValue | PTEFlags.cacheDisable.rawValue }
        return (old.raw ^ new.raw) & decisive == 0
    }

    /// The general case of modifyEntry: the new entry's references first, the write, then the old
    /// entry's references go.
    mutating func replaceEntry<M: PhysicalMemory>(
        _ address: UInt64, _ old: PageTableEntry, _ new: PageTableEntry, level: PageType, index: Int,
        _ state: inout DomainMemoryState, _ memory: inout M
    ) -> MemoryError? {
        let refusal: MemoryError?
        switch level {
        case .l1: refusal = getFromL1e(new, &state, &memory)
        case .l2: refusal = getFromL2e(new, &state, &memory)
        default: refusal = getFromL3e(new, slot: index, &state, &memory)
        }
        if let refusal { return refusal }

        guard memory.store64(address, new.raw) else {
            putEntry(new, level, state.ownerRaw, &memory)
            return .memoryFault
        }
        putEntry(old, level, state.ownerRaw, &memory)
        return nil
    }

    @inline(__always)
    mutating func putEntry<M: PhysicalMemory>(_ e: PageTableEntry, _ level: PageType, _ tableOwnerRaw: UInt16, _ memory: inout M) {
        switch level {
        case .l1: putFromL1e(e, tableOwnerRaw: tableOwnerRaw, &memory)
        case .l2: putFromL2e(e, &memory)
        default: putFromL3e(e, &memory)
        }
    }

    /// The level of `frame` if it is a validated page table of the domain in use (type count > 0).
    @inline(__always)
    func validatedTableLevel(_ frame: UInt32, ownerRaw: UInt16) -> PageType? {
        guard frame < count else { return nil }
        let head = FrameTable.recordHead(records + Int(truncatingIfNeeded: frame))
        guard head & FrameTable.headOwnerValidatedMask == UInt32(ownerRaw) | FrameTable.headValidated,
              records[Int(truncatingIfNeeded: frame)].typeCount > 0 else {
            return nil
        }
        switch UInt8(truncatingIfNeeded: head >> 16) {
        case PageType.l1.rawValue: return .l1
        case PageType.l2.rawValue: return .l2
        case PageType.l3.rawValue: return .l3
        default: return nil
        }
    }

    /// Whether `frame` is a validated page table of level `level` of the domain in use (type count
    /// > 0): `validatedTableLevel(frame, ownerRaw:) == level` in one compare of the record's first
    /// word (owner, type, validated flag) and a test of its type count, for the walks of hot paths.
    @inline(__always)
    @usableFromInline
    func isValidatedTable(_ frame: UInt32, _ level: PageType, ownerRaw: UInt16) -> Bool {
        guard frame < frameCount else { return false }
        let record = records + Int(truncatingIfNeeded: frame)
        return FrameTable.recordHead(record) & FrameTable.headTypeMask
            == UInt32(ownerRaw) | UInt32(level.rawValue) << 16 | FrameTable.headValidated
            && record.pointee.typeCount != 0
    }

    /// A record's first 32 bits: ownerRaw (bits 0-15), typeRaw (16-23), flagsRaw (24-31), as the
    /// layout LayoutTests pins puts them (little-endian).
    @inline(__always)
    static func recordHead(_ record: UnsafeMutablePointer<FrameRecord>) -> UInt32 {
        UnsafeRawPointer(record).load(as: UInt32.self)
    }
    /// In a record's head: the validated flag, and the masks for owner + flag, owner + type + flag.
    static var headValidated: UInt32 { @inline(__always) get { UInt32(FrameFlags.validated.rawValue) << 24 } }
    static var headOwnerValidatedMask: UInt32 { @inline(__always) get { 0xFFFF | headValidated } }
    static var headTypeMask: UInt32 { @inline(__always) get { 0xFF_FFFF | headValidated } }
}
