// Mappings the CPU may still cache after the paging core dropped them, and the one flush that makes a type change safe (Xen's tlbflush_timestamp rule).
// It must never let a frame become a page table or descriptor frame while a dropped writable mapping of it may be cached, nor
// let a frame a dropped table link may still describe become writable, without flushing first.
//
// Like Xen, changing an entry (mmu_update, update_va_mapping, a writable-page-table store) flushes
// nothing: the guest flushes what it needs for its own view (UVMF_*, MMUEXT_*FLUSH*, invlpg). A
// mapping the guest left in its TLB is harmless while the frame keeps the role the mapping was
// checked against. It stops being harmless when the frame changes type: a stale writable mapping
// of a frame that becomes a table would let the guest write the table unchecked, and a stale link
// (an L2 or L3 entry the CPU's paging-structure caches still hold) to a frame that becomes a
// writable page would let the guest write what the CPU still walks as a table. So every dropped
// mapping is noted here, and taking a new type from type count 0 flushes first when a note says it
// could matter. Guest mappings are never global, so any full flush (every CR3 load: a domain
// switch, a new base, a guest's own TLB_FLUSH) clears the notes; the hypervisor reports those
// with `translationsFlushed()`. Frames change owner only after their domain stopped running on
// this CPU (teardown), whose switch away loaded CR3.

/// What kinds of mapping were dropped since the last full TLB flush.
public struct StaleTranslations: OptionSet, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A writable L1 entry (a data mapping the guest could still write through) was dropped.
    public static var writableMapping: StaleTranslations { @inline(__always) get { StaleTranslations(rawValue: 1 << 0) } }
    /// An L2 or L3 entry (a link the CPU may still walk to a table) was dropped.
    public static var tableLink: StaleTranslations { @inline(__always) get { StaleTranslations(rawValue: 1 << 1) } }
}

extension FrameTable {
    /// The CPU dropped every non-global translation (a CR3 load or an equivalent flush).
    public mutating func translationsFlushed() { staleTranslations = [] }

    /// Whether a frame taking `type` from type count 0 needs the TLB flushed first.
    @inline(__always)
    func mustFlushBeforeTaking(_ type: PageType) -> Bool {
        if staleTranslations.isEmpty { return false }
        return type != .writable || staleTranslations.contains(.tableLink)
    }

    /// Flushes, through `memory`, when a frame is about to take `type` from type count 0 and a
    /// dropped mapping could still reach it.
    @inline(__always)
    mutating func flushIfStale<M: PhysicalMemory>(before type: PageType, _ memory: inout M) {
        guard mustFlushBeforeTaking(type) else { return }
        memory.flushTranslations()
        staleTranslations = []
    }

    /// Notes a dropped entry of a table at `level`: `writable` for an L1 entry with RW set.
    @inline(__always)
    mutating func noteDropped(level: PageType, writable: Bool) {
        if level == .l1 {
            if writable { staleTranslations.insert(.writableMapping) }
        } else {
            staleTranslations.insert(.tableLink)
        }
    }
}
