// Validation and devalidation of whole page tables (Xen's alloc_l1/l2/l3_table and free_page_type).
// It must never leave a reference behind when validation fails, nor write a guest table before every entry passed.
//
// Validation walks the entries in order and takes each one's references; at the first refusal
// it gives back, in reverse, exactly what entries 0..<i took (Xen's `while (i-- > 0)
// put_page_from_l1e(...)`). Only after every entry passed does it write anything: the
// hypervisor's 84 entries into a slot-3 L2.

extension FrameTable {
    /// Machine address of entry `index` of table `frame`.
    static func entryAddress(_ frame: UInt32, _ index: Int) -> UInt64 {
        UInt64(frame) << 12 | UInt64(index) << 3
    }

    /// Whether the L2 index is one the guest controls in an L2 of this kind.
    static func isGuestL2Slot(_ index: Int, hypervisorL2: Bool) -> Bool {
        !hypervisorL2 || !HypervisorL2Slots.isHypervisorSlot(index)
    }

    mutating func validateL1<M: PhysicalMemory>(_ frame: UInt32, _ state: DomainMemoryState, _ memory: inout M) -> MemoryError? {
        for i in 0..<PAE.entriesPerTable {
            let refusal: MemoryError?
            if let raw = memory.load64(FrameTable.entryAddress(frame, i)) {
                refusal = getFromL1e(PageTableEntry(raw: raw), state, &memory)
            } else {
                refusal = .memoryFault
            }
            if let refusal {
                var j = i
                while j > 0 {
                    j -= 1
                    putFromL1e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, j)) ?? 0), &memory)
                }
                return refusal
            }
        }
        return nil
    }

    mutating func validateL2<M: PhysicalMemory>(
        _ frame: UInt32, _ state: DomainMemoryState, _ memory: inout M, hypervisorL2: Bool
    ) -> MemoryError? {
        let guestSlots = hypervisorL2 ? HypervisorL2Slots.first : PAE.entriesPerTable
        for i in 0..<guestSlots {
            let refusal: MemoryError?
            if let raw = memory.load64(FrameTable.entryAddress(frame, i)) {
                refusal = getFromL2e(PageTableEntry(raw: raw), state, &memory)
            } else {
                refusal = .memoryFault
            }
            if let refusal {
                var j = i
                while j > 0 {
                    j -= 1
                    putFromL2e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, j)) ?? 0), &memory)
                }
                return refusal
            }
        }
        if hypervisorL2 {
            for (n, raw) in state.hypervisorSlots.entries.enumerated() {
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

    mutating func validateL3<M: PhysicalMemory>(_ frame: UInt32, _ state: DomainMemoryState, _ memory: inout M) -> MemoryError? {
        for i in 0..<PAE.l3Entries {
            var refusal: MemoryError?
            if let raw = memory.load64(FrameTable.entryAddress(frame, i)) {
                let e = PageTableEntry(raw: raw)
                if i == 3 && !e.isPresent {
                    refusal = .l3SlotThreeMissing
                } else {
                    refusal = getFromL3e(e, slot: i, state, &memory)
                }
            } else {
                refusal = .memoryFault
            }
            if let refusal {
                var j = i
                while j > 0 {
                    j -= 1
                    putFromL3e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, j)) ?? 0), &memory)
                }
                return refusal
            }
        }
        return nil
    }

    mutating func releaseL1Entries<M: PhysicalMemory>(_ frame: UInt32, _ memory: inout M) {
        for i in 0..<PAE.entriesPerTable {
            putFromL1e(PageTableEntry(raw: memory.load64(FrameTable.entryAddress(frame, i)) ?? 0), &memory)
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
