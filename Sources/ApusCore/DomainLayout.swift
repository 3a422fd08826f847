// Where everything goes in a new PV domain's initial virtual mapping: image, initrd, P2M, start_info, rings, tables, stack.
// Arithmetic only, checked against the hypervisor hole and the domain's size: it must never read an image or write memory.

import PVABI

/// The start-of-day layout, all virtual addresses. Pseudo-physical frame numbers count
/// from `virtBase`: pfn = (va - virtBase) / 4096. In address order:
///
///     virtBase ... [imageStart, imageEnd) image, bss zeroed, rounded up to a page
///                  initrd (page aligned, may be empty)
///                  P2M list: 4 bytes per pfn, every page of the domain
///                  start_info page
///                  xenstore page, console page (domUs only)
///                  page tables: the L3, the L2s (by slot), the L1s (by address); mapped read-only
///                  boot stack page
///                  at least 512 KiB of padding, up to a 4 MiB boundary = mappedEnd
public struct DomainLayout: Equatable, Sendable {
    public static let pageSize: UInt64 = 4096
    public static let minimumPadding: UInt64 = 512 * 1024
    public static let mappingAlignment: UInt64 = 4 * 1024 * 1024
    static let l1Span: UInt64 = 2 * 1024 * 1024
    static let l2Span: UInt64 = 1024 * 1024 * 1024
    /// The L3 slot whose L2 also holds the hypervisor's entries.
    public static let hypervisorSlot = 3

    public let virtBase: UInt32
    /// The lowest loaded byte of the image and one past the highest (bss included).
    public let imageStart: UInt32
    public let imageEnd: UInt32
    public let initrdStart: UInt32
    public let initrdLength: UInt32
    public let p2mStart: UInt32
    public let startInfo: UInt32
    public let storePage: UInt32?
    public let consolePage: UInt32?
    public let pageTablesStart: UInt32
    /// The L3 slots that get an L2, ascending; always includes slot 3.
    public let l2Slots: [Int]
    /// L1 tables, one per 2 MiB region the mapping touches, from `l1Base` upwards.
    public let l1Count: Int
    public let stackPage: UInt32
    /// One past the last mapped byte; a multiple of 4 MiB.
    public let mappedEnd: UInt32

    /// Frames of page tables: the L3, the L2s, the L1s.
    public var tableCount: Int { 1 + l2Slots.count + l1Count }
    /// The 2 MiB region the first L1 maps.
    public var l1Base: UInt32 { UInt32(UInt64(virtBase) & ~(DomainLayout.l1Span - 1)) }
    public var stackTop: UInt32 { stackPage + UInt32(DomainLayout.pageSize) }
    /// One past the last page-table page.
    public var pageTablesEnd: UInt32 { stackPage }
    /// Pages from virtBase to mappedEnd: the least the domain must own.
    public var mappedPages: UInt64 { (UInt64(mappedEnd) - UInt64(virtBase)) / DomainLayout.pageSize }

    /// The pseudo-physical frame of a mapped virtual address.
    public func pfn(_ va: UInt32) -> UInt32 { (va - virtBase) >> 12 }

    /// Lays out a domain of `nrPages` pages whose image occupies [imageStart, imageEnd)
    /// (already checked to lie in [virtBase, HYPERVISOR_VIRT_START)). Adding page tables
    /// can lengthen the mapping, which can need more tables: this repeats until the count
    /// is stable. Throws when the mapping would reach the hypervisor or exceed the domain.
    public static func compute(
        virtBase: UInt32, imageStart: UInt32, imageEnd: UInt32,
        initrdLength: UInt32, nrPages: UInt64, storeAndConsole: Bool
    ) throws(BuildError) -> DomainLayout {
        let limit = UInt64(XenLayout.hypervisorVirtStart)
        // A P2M this long could never fit below the hypervisor; refusing it here keeps the sums small.
        guard nrPages <= limit / 4 else { throw .mappingReachesHypervisor(end: UInt64(imageEnd) + 4 * nrPages) }
        let initrdStart = pageUp(UInt64(imageEnd))
        let p2mStart = pageUp(initrdStart + UInt64(initrdLength))
        let startInfo = pageUp(p2mStart + 4 * nrPages)
        var next = startInfo + pageSize
        var store: UInt64? = nil
        var console: UInt64? = nil
        if storeAndConsole {
            store = next
            console = next + pageSize
            next += 2 * pageSize
        }
        let tablesStart = next
        // Checked before every step so the arithmetic below stays far from overflow.
        guard tablesStart < limit else { throw .mappingReachesHypervisor(end: tablesStart) }

        var tables: UInt64 = 0
        while true {
            let stackPage = tablesStart + tables * pageSize
            let mappedEnd = roundUp(stackPage + pageSize + minimumPadding, mappingAlignment)
            guard mappedEnd <= limit else { throw .mappingReachesHypervisor(end: mappedEnd) }
            let slots = l2Slots(from: UInt64(virtBase), to: mappedEnd)
            let l1s = (roundUp(mappedEnd, l1Span) - (UInt64(virtBase) & ~(l1Span - 1))) / l1Span
            let needed = 1 + UInt64(slots.count) + l1s
            if needed == tables {
                let layout = DomainLayout(
                    virtBase: virtBase, imageStart: imageStart, imageEnd: imageEnd,
                    initrdStart: UInt32(initrdStart), initrdLength: initrdLength,
                    p2mStart: UInt32(p2mStart), startInfo: UInt32(startInfo),
                    storePage: store.map { UInt32($0) }, consolePage: console.map { UInt32($0) },
                    pageTablesStart: UInt32(tablesStart), l2Slots: slots, l1Count: Int(l1s),
                    stackPage: UInt32(stackPage), mappedEnd: UInt32(mappedEnd))
                guard layout.mappedPages <= nrPages else {
                    throw .notEnoughMemory(needed: layout.mappedPages, available: nrPages)
                }
                return layout
            }
            // More tables never shrink the mapping, so `needed` only grows and this ends.
            tables = needed
        }
    }

    /// L3 slots touched by [start, end), plus the hypervisor's slot.
    static func l2Slots(from start: UInt64, to end: UInt64) -> [Int] {
        var slots: [Int] = []
        var slot = Int(start / l2Span)
        let last = Int((end - 1) / l2Span)
        while slot <= last {
            slots.append(slot)
            slot += 1
        }
        if !slots.contains(hypervisorSlot) { slots.append(hypervisorSlot) }
        return slots
    }

    static func pageUp(_ value: UInt64) -> UInt64 { roundUp(value, pageSize) }
    static func roundUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 { (value + alignment - 1) & ~(alignment - 1) }
}
