// Validation and devalidation of whole page tables (Xen's alloc_l1/l2/l3_table and free_page_type).
// It must never leave a reference behind when validation fails, nor write a guest table before every entry passed.
//
// Validation walks the entries in order and takes each one's references; at the first refusal
// it gives back, in reverse, exactly what entries 0..<i took (Xen's `while (i-- > 0)
// put_page_from_l1e(...)`). Only after every entry passed does it write anything: the
// hypervisor's 84 entries into a slot-3 L2.

extension FrameTable {
    /// Machine address of entry `index` of table `frame`.
    @inline(__always)
    static func entryAddress(_ frame: UInt32, _ index: Int) -> UInt64 {
        UInt64(frame) << 12 | UInt64(UInt32(truncatingIfNeeded: index) << 3)
    }

    /// Whether the L2 index is one the guest controls in an L2 of this kind.
    static func isGuestL2Slot(_ index: Int, hypervisorL2: Bool) -> Bool {
        !hypervisorL2 || !HypervisorL2Slots.isHypervisorSlot(index)
    }

    mutating func validateL1<M: PhysicalMemory>(_ frame: UInt32, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        validateEntries(frame, count: PAE.entriesPerTable, level: .l1, &state, &memory)
    }

    /// Takes the references entries 0..<count of `frame` need, at `level`'s rules; on the first
    /// refusal gives back, newest first, exactly what the earlier entries took.
    mutating func validateEntries<M: PhysicalMemory>(
        _ frame: UInt32, count: Int, level: PageType, _ state: inout DomainMemoryState, _ memory: inout M
    ) -> MemoryError? {
        for i in 0..<count {
            let refusal: MemoryError?
            if let raw = memory.load64(FrameTable.entryAddress(frame, i)) {
                let e = PageTableEntry(raw: raw)
                switch level {
                case .l1: refusal = getFromL1e(e, &state, &memory)
                case .l2: refusal = getFromL2e(e, &state, &memory)
                default: refusal = i == 3 && !e.isPresent ? .l3SlotThreeMissing : getFromL3e(e, slot: i, &state, &memory)
                }
            } else {
                refusal = .memoryFault
            }
            guard let refusal else { continue }
            var j = i
            while j > 0 {
                j -= 1
                let e = PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, j)) ?? 0)
                switch level {
                case .l1: putFromL1e(e, tableOwnerRaw: state.ownerRaw, &memory)
                case .l2: putFromL2e(e, &memory)
                default: putFromL3e(e, &memory)
                }
            }
            return refusal
        }
        return nil
    }

    mutating func validateL2<M: PhysicalMemory>(
        _ frame: UInt32, _ state: inout DomainMemoryState, _ memory: inout M, hypervisorL2: Bool
    ) -> MemoryError? {
        let guestSlots = hypervisorL2 ? HypervisorL2Slots.first : PAE.entriesPerTable
        precondition(!hypervisorL2 || hypervisorSlots != nil, "a slot-3 L2 validated before the hypervisor's L2 slots were set")
        if let refusal = validateEntries(frame, count: guestSlots, level: .l2, &state, &memory) { return refusal }
        if hypervisorL2, let slots = hypervisorSlots {
            for (n, raw) in slots.entries.enumerated() {
                guard memory.store64(FrameTable.entryAddress(frame, HypervisorL2Slots.first + n), raw) else {
                    // Only reachable with memory that reads but does not write: undo the lot.
                    clearHypervisorSlots(frame, &memory)
                    releaseL2Entries(frame, &memory, hypervisorL2: true)
                    return .memoryFault
                }
            }
        }
        return nil
    }

    mutating func validateL3<M: PhysicalMemory>(_ frame: UInt32, _ state: inout DomainMemoryState, _ memory: inout M) -> MemoryError? {
        validateEntries(frame, count: PAE.l3Entries, level: .l3, &state, &memory)
    }

    mutating func releaseL1Entries<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) {
        let tableOwnerRaw = ownerRaw(of: frame)
        for i in 0..<PAE.entriesPerTable {
            putFromL1e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, i)) ?? 0), tableOwnerRaw: tableOwnerRaw, &memory)
        }
    }

    mutating func releaseL2Entries<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M, hypervisorL2: Bool) {
        let guestSlots = hypervisorL2 ? HypervisorL2Slots.first : PAE.entriesPerTable
        for i in 0..<guestSlots {
            putFromL2e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, i)) ?? 0), &memory)
        }
    }

    mutating func releaseL3Entries<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) {
        for i in 0..<PAE.l3Entries {
            putFromL3e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, i)) ?? 0), &memory)
        }
    }

    /// Zeroes slots 428-511 of an L2 that stopped being the slot-3 L2, so a frame the guest
    /// may now map writable keeps no hypervisor entries (and can become a plain L2 again).
    mutating func clearHypervisorSlots<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) {
        for i in HypervisorL2Slots.first..<PAE.entriesPerTable {
            _ = memory.store64(FrameTable.entryAddress(frame, i), 0)
        }
    }
}
