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
        var lent = LentL1()
        return mmuUpdateRun(requests, count: count, lent: &lent, state: &state, memory: &memory, m2p: &m2p)
    }

    /// `mmuUpdateRun` continuing with the L1 a previous run of the same call left lent (`lent`,
    /// `LentL1()` for the first run): the caller copies the next run in between, which touches
    /// neither this memory nor a frame record, so the lent L1 is still what it was checked to be.
    public mutating func mmuUpdateRun<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ requests: UnsafeRawPointer, count: Int, lent cache: inout LentL1, state: inout DomainMemoryState,
        memory: inout M, m2p: inout S
    ) -> MMUUpdateOutcome {
        var outcome = MMUUpdateOutcome(done: 0, error: nil, currentBaseChanged: false)
        // Held in locals, the lent L1 too: the fast path's stores through lent entries could
        // otherwise be taken to change them, and reloaded after every store.
        let records = self.records, frameCount = self.frameCount, ownerRaw = state.ownerRaw
        var key = cache.key, entries = UnsafeMutableRawPointer(cache.entries)
        var next = requests
        let end = requests + count &* MMUUpdateLayout.size
        while next != end {
            let ptrLow = UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.ptrOffset, as: UInt32.self))
            // The fast path: an entry of the lent L1, NORMAL_PT_UPDATE or PT_UPDATE_PRESERVE_AD, aligned
            // (the key keeps bits 0 and 2), at byte offset ptrLow & 0xFF8 of the frame.
            // Marked likely: with the default even odds at each check the compiler took the written
            // entry for a rare path and padded the loop's head with no-ops that path ran through.
            if _fastPath((ptrLow & LentL1.keyMask ^ key) | next.load(fromByteOffset: MMUUpdateLayout.ptrOffset &+ 4, as: UInt32.self) == 0)
                && _fastPath(FrameTable.writeKeepingReferences(
                    (entries + Int(truncatingIfNeeded: ptrLow & 0xFF8)).assumingMemoryBound(to: UInt64.self),
                    low: UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.valOffset, as: UInt32.self)),
                    high: UInt32(littleEndian: next.load(fromByteOffset: MMUUpdateLayout.valOffset &+ 4, as: UInt32.self)),
                    preserveAD: ptrLow & 2 != 0, ownerRaw: ownerRaw, records: records, frameCount: frameCount)) {
                next += MMUUpdateLayout.size
                continue
            }
            cache = LentL1(key: key, entries: entries.assumingMemoryBound(to: UInt64.self))
            let error = applyOne(next, &cache, &outcome, &state, &memory, &m2p)
            key = cache.key
            entries = UnsafeMutableRawPointer(cache.entries)
            if let error {
                outcome.error = error
                outcome.done = requests.distance(to: next) / MMUUpdateLayout.size
                return outcome
            }
            next += MMUUpdateLayout.size
        }
        cache = LentL1(key: key, entries: entries.assumingMemoryBound(to: UInt64.self))
        outcome.done = count
        return outcome
    }

    /// One request the fast path did not finish with the L1 it has lent: when the request names
    /// an entry of another validated L1 of the domain, that L1 is lent and the fast path tried;
    /// declined, `modifyEntry` decides (what `mmuUpdate(_ request:)` does for such a request, without
    /// its checks again). Anything else drops the lent L1 and goes whole through `mmuUpdate(_
    /// request:)`, which may map other frames and change any record. The refusal, if any.
    @inline(never)
    mutating func applyOne<M: PhysicalMemory, S: MachineToPhysicalStore>(
        _ at: UnsafeRawPointer, _ cache: inout LentL1, _ outcome: inout MMUUpdateOutcome,
        _ state: inout DomainMemoryState, _ memory: inout M, _ m2p: inout S
    ) -> MemoryError? {
        let ptrLow = UInt32(littleEndian: at.load(fromByteOffset: MMUUpdateLayout.ptrOffset, as: UInt32.self))
        let ptrHigh = UInt32(littleEndian: at.load(fromByteOffset: MMUUpdateLayout.ptrOffset &+ 4, as: UInt32.self))
        let valLow = UInt32(littleEndian: at.load(fromByteOffset: MMUUpdateLayout.valOffset, as: UInt32.self))
        let valHigh = UInt32(littleEndian: at.load(fromByteOffset: MMUUpdateLayout.valOffset &+ 4, as: UInt32.self))
        let key = ptrLow & LentL1.keyMask
        let frame = ptrLow >> 12
        if ptrHigh == 0 && ptrLow & 5 == 0 && key != cache.key,
           validatedTableLevel(frame, ownerRaw: state.ownerRaw) == .l1, let lent = memory.tableEntries(frame) {
            cache = LentL1(key: key, entries: lent)
            let index = Int(truncatingIfNeeded: (ptrLow & 0xFFF) >> 3)
            if FrameTable.writeKeepingReferences(lent + index, low: valLow, high: valHigh,
                                                 preserveAD: ptrLow & 2 != 0, ownerRaw: state.ownerRaw,
                                                 records: records, frameCount: frameCount) {
                return nil
            }
            cache = LentL1()
            return modifyEntry(table: frame, level: .l1, index: index, raw: UInt64(valHigh) << 32 | UInt64(valLow),
                               preserveAD: ptrLow & 2 != 0, &state, &memory)
        }
        cache = LentL1()
        let request = MMUUpdateRequest(ptr: UInt64(ptrHigh) << 32 | UInt64(ptrLow), val: UInt64(valHigh) << 32 | UInt64(valLow))
        switch mmuUpdate(request, state: &state, memory: &memory, m2p: &m2p) {
        case .failure(let error):
            return error
        case .success(let effect):
            if case .tableEntry(let frame, .l3, _) = effect, state.isBase(frame) {
                outcome.currentBaseChanged = true
            }
            return nil
        }
    }

    /// `modifyEntry`'s fast path for an entry of a validated L1 of the domain whose owner's raw
    /// encoding is `ownerRaw` (`records` and `frameCount`: the table's): writes the entry (`low`, `high`: its two halves; the old A/D bits kept
    /// when `preserveAD`) and answers true only when it needs exactly the references the old one
    /// holds (`holdsSameReferences`), the old one is not a grant mapping (`isGrantEntry`) and the new
    /// one's bits pass (`EntryRules.l1BitsRefusal`). False: nothing written, and `modifyEntry`
    /// decides (it refuses, or takes and gives references). In 32-bit halves: this is the loop
    /// Linux's batches run, and the hypervisor is 32-bit.
    @inline(__always)
    @usableFromInline
    static func writeKeepingReferences(
        _ slot: UnsafeMutablePointer<UInt64>, low: UInt32, high: UInt32, preserveAD: Bool, ownerRaw: UInt16,
        records: UnsafeMutablePointer<FrameRecord>, frameCount: UInt32
    ) -> Bool {
        let halves = UnsafeMutableRawPointer(slot)
        let oldLow = halves.load(as: UInt32.self)
        // holdsSameReferences at L1: the frame (bits 12-51), present, RW and PCD (device memory must
        // stay uncached) agree. PRESERVE_AD's merge below changes only A and D, which do not decide,
        // so `low` decides as written.
        let decisiveLow = UInt32(truncatingIfNeeded: PageTableEntry.frameMask | PTEFlags.present.rawValue
                                 | PTEFlags.writable.rawValue | PTEFlags.cacheDisable.rawValue)
        let decisiveHigh = UInt32(truncatingIfNeeded: PageTableEntry.frameMask >> 32)
        let oldHigh = halves.load(fromByteOffset: 4, as: UInt32.self)
        // Bits that must be clear, gathered before one test.
        let differing = (oldLow ^ low) & decisiveLow
        // Present: both are, naming the same frame, so the new entry's frame is the old one's.
        if low & UInt32(truncatingIfNeeded: PTEFlags.present.rawValue) != 0 {
            // l1BitsRefusal (bits 52-62, PAT, global), and a frame at or above 2^20 (bits 32-51),
            // which the grant check below leaves to modifyEntry. With bits 32-51 of `high` clear, the
            // frames' high bits agree exactly when the old entry's are clear too.
            let refusedHigh = UInt32(truncatingIfNeeded: (PageTableEntry.reservedHighBits | PageTableEntry.frameMask) >> 32)
            guard differing | high & refusedHigh | oldHigh & decisiveHigh
                    | low & UInt32(truncatingIfNeeded: EntryRules.l1Refused) == 0 else { return false }
            // isGrantEntry: a frame of another domain. The domain's own frame, the common case, is one compare.
            let frame = low >> 12
            if frame < frameCount {
                let owner = records[Int(truncatingIfNeeded: frame)].ownerRaw
                if _slowPath(owner != ownerRaw) && owner <= FrameOwner.maxDomainID { return false }
            }
        } else {
            // Neither present: the frame bits must still agree (holdsSameReferences).
            guard differing | (oldHigh ^ high) & decisiveHigh == 0 else { return false }
        }
        var newLow = low
        if _slowPath(preserveAD) { newLow |= oldLow & UInt32(truncatingIfNeeded: PTEFlags.accessed.rawValue | PTEFlags.dirty.rawValue) }
        halves.storeBytes(of: newLow, as: UInt32.self)
        halves.storeBytes(of: high, toByteOffset: 4, as: UInt32.self)
        return true
    }
}

/// The L1 mmu_update's fast path writes: a validated L1 of the domain and its entries, lent by the
/// memory. `key` is the low half of a request's ptr with the entry index and bit 1 (PRESERVE_AD)
/// cleared, so it keeps the frame, command bit 0 and alignment bit 2, both clear when lent; the
/// empty one has an index bit set, so no request matches it.
public struct LentL1 {
    static let keyMask: UInt32 = ~0xFFA
    var key: UInt32 = 1 << 3
    var entries = UnsafeMutablePointer<UInt64>(bitPattern: 8)!
    /// None lent.
    public init() {}
    init(key: UInt32, entries: UnsafeMutablePointer<UInt64>) { self.key = key; self.entries = entries }
}
