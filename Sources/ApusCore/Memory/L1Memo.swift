// update_va_mapping's memo of its last walk: which L1 the domain's current tables reach for one 2 MiB region.
// It must never stand in for a check on the L1 itself: a hit still checks that the L1 is a validated L1 of the domain.
//
// The walk base L3 -> L2 -> L1 reads two tables and two records for what rarely changes: Linux
// and the bench call update_va_mapping again and again for addresses in the same region. Which L1
// a region reaches can change only when the hypervisor writes an L2 or L3 entry (modifyEntry), a
// frame takes or loses the type L2 or L3 (the guest can write a table that lost its type, and it
// is checked anew when it takes one again: validateContents, putLastPageType), or the domain
// moves to another base. L1 types do not count: the L1 a memo names is checked on every use. The frame table counts the
// first two in `tableGeneration` (64 bits: it never wraps); a new base clears the memo
// (`DomainMemoryState.baseL3`). A memo taken at the current generation, for the current base, is
// therefore what the walk would find now. Even a wrong memo could only name another validated L1 of
// the domain, which every entry rule still guards.

/// The L1 the last walk reached for the 2 MiB region `region` (va >> 21), at `generation`.
public struct L1Memo: Sendable {
    /// va >> 21 of the walk (below 2048); `.max`: none.
    var region: UInt32 = .max
    var l1: UInt32 = 0
    var generation: UInt64 = 0
    public init() {}
    init(region: UInt32, l1: UInt32, generation: UInt64) {
        self.region = region
        self.l1 = l1
        self.generation = generation
    }
}

extension FrameTable {
    /// Something that can change which L1 a region reaches happened (see above): every memo goes stale.
    @inline(__always)
    mutating func tablesChanged() { tableGeneration &+= 1 }
}
