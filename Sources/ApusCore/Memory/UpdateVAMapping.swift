// update_va_mapping (hypercall 14): change the L1 entry mapping one virtual address of the domain's current address space.
// It must never walk anything but the domain's validated tables, nor touch an address at or above HYPERVISOR_VIRT_START.
//
// The walk goes base L3 -> L2 -> L1 through validated tables only (the base holds its
// references, so everything reachable from it is validated); the change itself is an L1
// entry update under the same rules as mmu_update.

import PVABI

extension FrameTable {
    /// Where the L1 entry mapping `va` lives in the domain's current tables: (L1 frame, index).
    public func l1Slot<M: PhysicalMemory>(for va: UInt32, state: DomainMemoryState, memory: M) -> Result<(frame: UInt32, index: Int), MemoryError> {
        l1Slot(for: va, base: state.baseL3, ownerRaw: state.ownerRaw, memory: memory)
    }

    /// `l1Slot` from the two facts it needs: the domain's base L3 and its raw owner encoding
    /// (`DomainMemoryState.ownerRaw`), so hot callers pass two words, not the whole state.
    @inline(__always)
    public func l1Slot<M: PhysicalMemory>(for va: UInt32, base: UInt32?, ownerRaw: UInt16, memory: M) -> Result<(frame: UInt32, index: Int), MemoryError> {
        guard va < XenLayout.hypervisorVirtStart else { return .failure(.hypervisorAddress) }
        guard let base else { return .failure(.noBasePointer) }
        guard let l3Raw = memory.load64(FrameTable.entryAddress(base, PAE.l3Index(va))) else { return .failure(.memoryFault) }
        let l3e = PageTableEntry(raw: l3Raw)
        guard l3e.isPresent else { return .failure(.noL2ForAddress) }
        let l2 = UInt32(truncatingIfNeeded: l3e.frame)
        guard validatedTableLevel(l2, ownerRaw: ownerRaw) == .l2 else { return .failure(.notAPageTable) }
        guard let l2Raw = memory.load64(FrameTable.entryAddress(l2, PAE.l2Index(va))) else { return .failure(.memoryFault) }
        let l2e = PageTableEntry(raw: l2Raw)
        guard l2e.isPresent, l2e.raw & PTEFlags.pageSize.rawValue == 0 else { return .failure(.noL1ForAddress) }
        let l1 = UInt32(truncatingIfNeeded: l2e.frame)
        guard validatedTableLevel(l1, ownerRaw: ownerRaw) == .l1 else { return .failure(.notAPageTable) }
        return .success((l1, PAE.l1Index(va)))
    }

    /// Decodes update_va_mapping's flags (arg4) into the flush the caller must do for `va`.
    /// Flush type 3 asks for nothing, as in Xen.
    @inline(__always)
    public static func decodeUVMF(_ flags: UInt32, va: UInt32) -> TLBFlush {
        // The common request first (one page, this vCPU): one compare.
        if flags == UVMF.invlpg | UVMF.local { return .page(va, .local) }
        let rest = flags & ~UVMF.flushTypeMask
        let scope: TLBFlushScope = rest == UVMF.local ? .local : (rest == UVMF.all ? .all : .vcpuMask(rest))
        switch flags & UVMF.flushTypeMask {
        case UVMF.tlbFlush: return .everything(scope)
        case UVMF.invlpg: return .page(va, scope)
        default: return .none
        }
    }

    /// update_va_mapping for the domain: the entry mapping `va` becomes `value` (L1 rules),
    /// then the caller performs the returned flush. On refusal nothing changed (but the memo).
    /// Out of line with the change inlined: the hypercall table's code for it stays one call and
    /// a switch, as before the memo (any other shape moved the table's blocks and cost the iret
    /// hypercall's path one instruction).
    @inline(never)
    public mutating func updateVAMapping<M: PhysicalMemory>(
        va: UInt32, value: UInt64, flags: UInt32, state: inout DomainMemoryState, memory: inout M
    ) -> Result<TLBFlush, MemoryError> {
        if let refusal = updateVAMappingEntry(va: va, value: value, state: &state, memory: &memory) { return .failure(refusal) }
        return .success(FrameTable.decodeUVMF(flags, va: va))
    }

    /// update_va_mapping's change without its flush (the hypervisor decodes the flags itself): nil
    /// when the entry mapping `va` is now `value`; on refusal nothing changed but the memo. The
    /// state is read, and its `l1Memo` written.
    ///
    /// The L1 comes from the memo of the last walk when it is still good (L1Memo.swift), else from
    /// the walk through the tables' entries lent in place, in 32-bit halves, with one compare per
    /// record (`isValidatedTable`). Either way the L1 is then checked to be a validated L1 of the
    /// domain. Wherever this would stop (an address, a missing base or entry, a table that is not a
    /// validated one of the domain, memory that lends nothing), the reference walk `l1Slot` runs
    /// from the start and gives the refusal.
    @inline(__always)
    public mutating func updateVAMappingEntry<M: PhysicalMemory>(
        va: UInt32, value: UInt64, state: inout DomainMemoryState, memory: inout M
    ) -> MemoryError? {
        let ownerRaw = state.ownerRaw
        if va < XenLayout.hypervisorVirtStart {
            let region = va >> 21
            var l1 = state.l1Memo.l1
            if _slowPath(state.l1Memo.region != region || state.l1Memo.generation != tableGeneration) {
                l1 = walkToL1(va, &state, &memory)
            }
            if isValidatedTable(l1, .l1, ownerRaw: ownerRaw), let entries = memory.tableEntries(l1) {
                let index = Int(truncatingIfNeeded: (va >> 12) & 511)
                // The entry in place when it keeps its references (mmu_update's fast path,
                // MMUUpdateRun.swift); anything else goes whole to modifyEntry.
                if FrameTable.writeKeepingReferences(entries + index, low: UInt32(truncatingIfNeeded: value),
                                                     high: UInt32(truncatingIfNeeded: value >> 32), preserveAD: false,
                                                     ownerRaw: ownerRaw, records: records, frameCount: frameCount) {
                    return nil
                }
                return modifyEntry(table: l1, level: .l1, index: index, raw: value, preserveAD: false, &state, &memory)
            }
        }
        return updateVAMappingWalkingByAddress(va: va, value: value, state: &state, memory: &memory)
    }

    /// The L1 the domain's current tables reach for `va` (below HYPERVISOR_VIRT_START), walked
    /// through entries lent in place, the L2 checked to be a validated L2 of the domain, and kept in
    /// the memo; `UInt32.max` with the memo cleared when the walk stops (the caller's L1 check then
    /// fails, as no frame table reaches that frame, and the reference walk decides).
    @inline(never)
    mutating func walkToL1<M: PhysicalMemory>(_ va: UInt32, _ state: inout DomainMemoryState, _ memory: inout M) -> UInt32 {
        let ownerRaw = state.ownerRaw
        state.l1Memo = L1Memo()
        guard let base = state.baseL3, let l3 = memory.tableEntries(base) else { return .max }
        let l3e = UnsafeRawPointer(l3 + Int(truncatingIfNeeded: va >> 30))
        let l3Low = l3e.load(as: UInt32.self)
        // The frame as l1Slot takes it: bits 12-43 of the entry.
        let l2 = l3Low >> 12 | l3e.load(fromByteOffset: 4, as: UInt32.self) << 20
        guard l3Low & UInt32(truncatingIfNeeded: PTEFlags.present.rawValue) != 0,
              isValidatedTable(l2, .l2, ownerRaw: ownerRaw), let l2Entries = memory.tableEntries(l2) else { return .max }
        let l2e = UnsafeRawPointer(l2Entries + Int(truncatingIfNeeded: (va >> 21) & 511))
        let l2Low = l2e.load(as: UInt32.self)
        let l1 = l2Low >> 12 | l2e.load(fromByteOffset: 4, as: UInt32.self) << 20
        let presentOrLarge = UInt32(truncatingIfNeeded: PTEFlags.present.rawValue | PTEFlags.pageSize.rawValue)
        guard l2Low & presentOrLarge == UInt32(truncatingIfNeeded: PTEFlags.present.rawValue) else { return .max }
        state.l1Memo = L1Memo(region: va >> 21, l1: l1, generation: tableGeneration)
        return l1
    }

    /// updateVAMapping through the reference walk (`l1Slot`, by physical address): what the lent
    /// walk falls back to, and what decides every refusal of the walk.
    @inline(never)
    mutating func updateVAMappingWalkingByAddress<M: PhysicalMemory>(
        va: UInt32, value: UInt64, state: inout DomainMemoryState, memory: inout M
    ) -> MemoryError? {
        let slot: (frame: UInt32, index: Int)
        switch l1Slot(for: va, base: state.baseL3, ownerRaw: state.ownerRaw, memory: memory) {
        case .failure(let refusal): return refusal
        case .success(let found): slot = found
        }
        if let entries = memory.tableEntries(slot.frame),
           FrameTable.writeKeepingReferences(entries + slot.index, low: UInt32(truncatingIfNeeded: value),
                                             high: UInt32(truncatingIfNeeded: value >> 32), preserveAD: false,
                                             ownerRaw: state.ownerRaw, records: records, frameCount: frameCount) {
            return nil
        }
        return modifyEntry(table: slot.frame, level: .l1, index: slot.index, raw: value, preserveAD: false, &state, &memory)
    }
}
