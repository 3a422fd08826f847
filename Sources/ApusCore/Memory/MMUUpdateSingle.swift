// mmu_update with one request (Linux's single set_pte/set_pmd outside a lazy batch): the request straight to its check, with no run set up.
// It must never apply a request differently from `mmuUpdate(_ request:)`: what the in-place write does not finish goes to modifyEntry or there, whole.
//
// An entry of a validated L1 of the domain that keeps its references is written in place (the
// run path's `writeKeepingReferences`); any other entry of such an L1 (new references: Linux
// mapping a page where nothing was) goes straight to `modifyEntry`, which is what
// `mmuUpdate(_ request:)` does for it after the same frame checks; everything else goes to
// `mmuUpdate(_ request:)` itself.

import PVABI

extension FrameTable {
    /// One request, `ptr` and `val` in 32-bit halves as the guest wrote them: the outcome
    /// `mmuUpdateRun` gives for a run of one (done 1 or 0, the refusal, whether the domain's
    /// current L3 changed), with the same records and memory after.
    /// `@inline(always)`, not `__always`: the latter is only a heuristic's hint, and once the
    /// device-memory checks grew this path it was called out of line (about 60 instructions more
    /// for the one-request mmu_update: 296 -> 358). Always implies inlinable, hence the
    /// `@usableFromInline` on what it reaches.
    @inline(always)
    public mutating func mmuUpdateSingle<M: PhysicalMemory, S: MachineToPhysicalStore>(
        ptrLow: UInt32, ptrHigh: UInt32, valLow: UInt32, valHigh: UInt32,
        state: inout DomainMemoryState, memory: inout M, m2p: inout S
    ) -> MMUUpdateOutcome {
        let frame = ptrLow >> 12
        // NORMAL_PT_UPDATE or PT_UPDATE_PRESERVE_AD (bit 0 clear), 8-byte aligned (bit 2 clear).
        if ptrHigh == 0 && ptrLow & 5 == 0 && isValidatedTable(frame, .l1, ownerRaw: state.ownerRaw),
           let entries = memory.tableEntries(frame) {
            let index = Int(truncatingIfNeeded: (ptrLow & 0xFFF) >> 3)
            let preserveAD = ptrLow & 2 != 0
            if FrameTable.writeKeepingReferences(entries + index, low: valLow, high: valHigh, preserveAD: preserveAD,
                                                 ownerRaw: state.ownerRaw, records: records, frameCount: frameCount) {
                return MMUUpdateOutcome(done: 1, error: nil, currentBaseChanged: false)
            }
            return mmuUpdateSingleEntry(frame, index, UInt64(valHigh) << 32 | UInt64(valLow), preserveAD, &state, &memory)
        }
        return mmuUpdateSingleRequest(UInt64(ptrHigh) << 32 | UInt64(ptrLow), UInt64(valHigh) << 32 | UInt64(valLow),
                                      &state, &memory, &m2p)
    }

    /// An entry of a validated L1 of the domain that needs new references (or is refused): modifyEntry decides.
    @inline(never)
    @usableFromInline
    mutating func mmuUpdateSingleEntry<M: PhysicalMemory>(
        _ frame: UInt32, _ index: Int, _ raw: UInt64, _ preserveAD: Bool, _ state: inout DomainMemoryState, _ memory: inout M
    ) -> MMUUpdateOutcome {
        let refusal = modifyEntry(table: frame, level: .l1, index: index, raw: raw, preserveAD: preserveAD, &state, &memory)
        return MMUUpdateOutcome(done: refusal == nil ? 1 : 0, error: refusal, currentBaseChanged: false)
    }

    /// Any other request: the per-request path.
    @inline(never)
    @usableFromInline
    mutating func mmuUpdateSingleRequest<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ ptr: UInt64, _ val: UInt64, _ state: inout DomainMemoryState, _ memory: inout M, _ m2p: inout S
    ) -> MMUUpdateOutcome {
        switch mmuUpdate(MMUUpdateRequest(ptr: ptr, val: val), state: &state, memory: &memory, m2p: &m2p) {
        case .failure(let error):
            return MMUUpdateOutcome(done: 0, error: error, currentBaseChanged: false)
        case .success(let effect):
            var changed = false
            if case .tableEntry(let frame, .l3, _) = effect, state.isBase(frame) { changed = true }
            return MMUUpdateOutcome(done: 1, error: nil, currentBaseChanged: changed)
        }
    }
}
