// A run of mmu_update requests as the guest wrote them, applied in order with the fast path batches take: entries of one validated L1 that keep their references, written in place.
// It must never apply a request differently from `mmuUpdate(_ request:)`: a request the fast path does not finish goes there whole.
//
// Linux fills and clears page tables with runs of NORMAL_PT_UPDATE into one L1. The fast path
// keeps that L1 (checked once: a validated L1 of the domain) and its entries lent by the memory,
// and for each request reads the old entry, checks what `modifyEntry` checks on its own fast path
// (not a grant entry, the same references, the new entry's bits) and stores. It changes no frame
// record and touches no other memory, so the L1 stays what it was checked to be and the lent
// entries stay valid; any other request (another command, another frame, new references, a
// refusal) drops them and goes through `mmuUpdate(_ request:)`, which may map other frames and
// change any record.

import PVABI

extension FrameTable {
    /// Applies `count` requests from `requests` (16 bytes each, ptr then val, little-endian, as in
    /// guest memory; 8-byte aligned), stopping at the first refusal: the same outcome, records and
    /// memory as applying them one by one with `mmuUpdate(_ request:)`.
    public mutating func mmuUpdateRun<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ requests: UnsafeRawPointer, count: Int, state: inout DomainMemoryState, memory: inout M, m2p: inout S
    ) -> MMUUpdateOutcome {
        var outcome = MMUUpdateOutcome(done: 0, error: nil, currentBaseChanged: false)
        let ownerRaw = state.ownerRaw
        // Held in locals: the fast path's stores through lent entries could otherwise be taken to
        // change them.
        let records = self.records, frameCount = self.frameCount
        // The L1 the fast path writes, as the low half of a request's ptr with the entry index and
        // bit 1 (PRESERVE_AD) cleared: its frame, command bit 0 and alignment bit 2 clear. `none`
        // has an index bit set, so no request matches it. `entries`: that L1's entries, lent.
        let none: UInt32 = 1 << 3
        var cached = none
        var entries = UnsafeMutablePointer<UInt64>(bitPattern: 8)!
        var next = requests
        let end = requests + count &* MMUUpdateLayout.size
        while next != end {
            let ptrLow = UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.ptrOffset, as: UInt32.self))
            let ptrHigh = UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.ptrOffset &+ 4, as: UInt32.self))
            let valLow = UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.valOffset, as: UInt32.self))
            let valHigh = UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.valOffset &+ 4, as: UInt32.self))
            next += MMUUpdateLayout.size
            // NORMAL_PT_UPDATE (0) or PT_UPDATE_PRESERVE_AD (2) of an 8-byte aligned slot below 4 GiB.
            if ptrHigh == 0 {
                let key = ptrLow & ~0xFFA
                if key != cached, ptrLow & 5 == 0, validatedTableLevel(ptrLow >> 12, ownerRaw: ownerRaw) == .l1,
                   let lent = memory.tableEntries(ptrLow >> 12) {
                    cached = key
                    entries = lent
                }
                if key == cached && FrameTable.writeKeepingReferences(
                    entries + Int(truncatingIfNeeded: (ptrLow & 0xFFF) >> 3), low: valLow, high: valHigh,
                    preserveAD: ptrLow & 2 != 0, ownerRaw: ownerRaw, records: records, frameCount: frameCount) {
                    continue
                }
            }
            cached = none
            let request = MMUUpdateRequest(ptr: UInt64(ptrHigh) << 32 | UInt64(ptrLow), val: UInt64(valHigh) << 32 | UInt64(valLow))
            switch mmuUpdate(request, state: &state, memory: &memory, m2p: &m2p) {
            case .failure(let error):
                outcome.error = error
                outcome.done = (requests.distance(to: next) &- MMUUpdateLayout.size) / MMUUpdateLayout.size
                return outcome
            case .success(let effect):
                if case .tableEntry(let frame, .l3, _) = effect, frame == state.baseL3 {
                    outcome.currentBaseChanged = true
                }
            }
        }
        outcome.done = count
        return outcome
    }

    /// `modifyEntry`'s fast path for an entry of a validated L1 of the domain whose owner's raw
    /// encoding is `ownerRaw` (`records` and `frameCount`: the table's): writes the entry (`low`, `high`: its two halves; the old A/D bits kept
    /// when `preserveAD`) and answers true only when it needs exactly the references the old one
    /// holds (`holdsSameReferences`), the old one is not a grant mapping (`isGrantEntry`) and the new
    /// one's bits pass (`EntryRules.l1BitsRefusal`). False: nothing written, and `modifyEntry`
    /// decides (it refuses, or takes and gives references). In 32-bit halves: this is the loop
    /// Linux's batches run, and the hypervisor is 32-bit.
    @inline(__always)
    static func writeKeepingReferences(
        _ slot: UnsafeMutablePointer<UInt64>, low: UInt32, high: UInt32, preserveAD: Bool, ownerRaw: UInt16,
        records: UnsafeMutablePointer<FrameRecord>, frameCount: UInt32
    ) -> Bool {
        let halves = UnsafeMutableRawPointer(slot)
        let oldLow = halves.load(as: UInt32.self)
        let oldHigh = halves.load(fromByteOffset: 4, as: UInt32.self)
        var newLow = low
        if preserveAD { newLow |= oldLow & UInt32(truncatingIfNeeded: PTEFlags.accessed.rawValue | PTEFlags.dirty.rawValue) }
        // holdsSameReferences at L1: the frame (bits 12-51), present and RW agree.
        let decisiveLow = UInt32(truncatingIfNeeded: PageTableEntry.frameMask | PTEFlags.present.rawValue | PTEFlags.writable.rawValue)
        let decisiveHigh = UInt32(truncatingIfNeeded: PageTableEntry.frameMask >> 32)
        guard (oldLow ^ newLow) & decisiveLow | (oldHigh ^ high) & decisiveHigh == 0 else { return false }
        // Present: both are, naming the same frame.
        if newLow & UInt32(truncatingIfNeeded: PTEFlags.present.rawValue) != 0 {
            // l1BitsRefusal: bits 52-62, PAT and global.
            guard high & UInt32(truncatingIfNeeded: PageTableEntry.reservedHighBits >> 32) == 0,
                  newLow & UInt32(truncatingIfNeeded: EntryRules.l1Refused) == 0 else { return false }
            // isGrantEntry: a frame of another domain. A frame at or above 2^20 is left to modifyEntry.
            guard oldHigh & decisiveHigh == 0 else { return false }
            let frame = oldLow >> 12
            if frame < frameCount {
                let owner = records[Int(truncatingIfNeeded: frame)].ownerRaw
                if owner != ownerRaw && owner <= FrameOwner.maxDomainID { return false }
            }
        }
        halves.storeBytes(of: newLow, as: UInt32.self)
        halves.storeBytes(of: high, toByteOffset: 4, as: UInt32.self)
        return true
    }
}
