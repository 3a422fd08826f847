// Palette.swift: the hostile values the fuzzer draws its arguments from: pointers (edges of 0,
// 2^32, 0xF5800000 and 0xF6800000, the hypervisor area, unmapped pages, its own read-only page
// tables, a read-only page, the M2P, random bytes in scratch buffers), counts, and machine frames.
// It must never produce a pointer into the fuzzer's code, stack or globals, nor (as a frame some
// call may write or give away) one of its own frames other than the sacrificial one.

import ApusCore
import PVABI

enum Palette {
    static let m2pStart: UInt32 = 0xF580_0000
    static let hypervisorStart: UInt32 = 0xF680_0000
    /// Far below the hypervisor and above any guest's memory: no L2 maps it.
    static let farUnmapped: UInt32 = 0xC000_0000

    /// A pointer argument.
    static func pointer(_ r: inout SplitMix64) -> UInt32 {
        switch r.below(20) {
        case 0: return 0
        case 1: return 1 + r.below(4096)                                         // small values
        case 2: return r.below(64)                                               // just above 0
        case 3: return 0 &- (1 + r.below(64))                                    // just below 2^32 (0xFFFFFFF8...)
        case 4: return 0xFFFF_FFF8
        case 5: return m2pStart &- 64 &+ r.below(128)                            // around 0xF5800000
        case 6: return hypervisorStart &- 64 &+ r.below(128)                     // around 0xF6800000
        case 7: return hypervisorStart &+ r.below(0x0980_0000)                   // the hypervisor area
        case 8: return FuzzSpace.guardPage &+ r.below(4096)                       // unmapped (L1 present)
        case 9: return farUnmapped &+ r.below(0x0100_0000)                       // unmapped (no L2)
        case 10: return FuzzSpace.pageTableVA &+ r.below(FuzzSpace.pageTableBytes) // own tables, read-only
        case 11: return FuzzSpace.readOnlyPage &+ r.below(4096)
        case 12: return m2pStart &+ (r.below(0x0100_0000) & ~3)                  // the M2P
        case 13: return FuzzSpace.scratchEnd &- 1 &- r.below(64)                 // scratch running into the guard
        case 14: return FuzzSpace.readOnlyPage &- 1 &- r.below(64)               // guard page running into read-only
        case 15: return r.u32()
        default: return scratchPointer(&r)
        }
    }

    /// A pointer into the scratch buffers, usually aligned.
    static func scratchPointer(_ r: inout SplitMix64) -> UInt32 {
        let span = FuzzSpace.scratchPages * FuzzSpace.pageSize
        let offset = r.oneIn(4) ? r.below(span) : r.below(span) & ~7
        return FuzzSpace.scratch &+ offset
    }

    /// A count or size argument.
    static func count(_ r: inout SplitMix64) -> UInt32 {
        switch r.below(14) {
        case 0: return 0
        case 1: return 1
        case 2, 3: return 2 + r.below(15)                                        // small
        case 4: return 0x8000_0000
        case 5: return 0xFFFF_FFFF
        case 6: return 4096
        case 7: return 4097
        case 8: return 0x7FFF_FFFF
        case 9: return 0x8000_0001
        case 10: return 0x1_0000 >> r.below(8)
        case 11: return 0 &- (1 + r.below(16))
        case 12: return 1024 + r.below(3)
        default: return r.u32()
        }
    }

    /// Any argument: a pointer, a count, or raw bits.
    static func any(_ r: inout SplitMix64) -> UInt32 {
        switch r.below(3) {
        case 0: return pointer(&r)
        case 1: return count(&r)
        default: return r.oneIn(2) ? r.below(64) : r.u32()
        }
    }

    /// A domain id: itself (by name and number), dom0, DOMID_IO/XEN/INVALID, others.
    static func domain(_ r: inout SplitMix64) -> UInt16 {
        switch r.below(8) {
        case 0, 1: return 0x7FF0                      // DOMID_SELF
        case 2: return FuzzSpace.selfID
        case 3: return 0
        case 4: return 0x7FF1 + UInt16(r.below(4))    // DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID
        case 5: return UInt16(1 + r.below(8))
        default: return UInt16(truncatingIfNeeded: r.u32())
        }
    }

    /// A machine frame for a field some call may write, map, pin or give away: never one of the
    /// fuzzer's own frames except the sacrificial one and its (typed, read-only) page tables.
    static func frame(_ r: inout SplitMix64) -> UInt32 {
        switch r.below(10) {
        case 0, 1: return FuzzSpace.sacrificialMFN
        case 2: return FuzzSpace.pageTableMFNs[Int(r.below(UInt32(FuzzSpace.pageTableMFNs.count)))]
        case 3: return 0x100 + r.below(0x300)                  // the hypervisor's frames
        case 4: return 0
        case 5: return 0xFFFF_FFFF
        case 6: return 0x10_0000 &+ r.u32() >> 8               // beyond any RAM
        default:
            let m = r.below(max(FuzzSpace.frameLimit, 0x1_0000))  // someone's frame, maybe another domain's
            return foreign(m)
        }
    }

    /// `mfn` unless it is one of the fuzzer's own ordinary frames; then the sacrificial frame.
    static func foreign(_ mfn: UInt32) -> UInt32 {
        FuzzSpace.isOwn(mfn) && !FuzzSpace.isPageTable(mfn) ? FuzzSpace.sacrificialMFN : mfn
    }

    /// A virtual address for calls that change a mapping (update_va_mapping, grant map/unmap):
    /// the sacrificial page most of the time, else places with no mapping of the fuzzer's to lose.
    static func mappingVA(_ r: inout SplitMix64) -> UInt32 {
        switch r.below(12) {
        case 0: return 0
        case 1: return 0 &- 4096 &* (1 + r.below(4))
        case 2: return m2pStart &+ (r.below(0x0100_0000) & ~0xFFF)
        case 3: return hypervisorStart &+ (r.below(0x0980_0000) & ~0xFFF)
        case 4: return farUnmapped &+ (r.below(0x0100_0000) & ~0xFFF)
        case 5: return m2pStart &- 4096
        case 6: return FuzzSpace.sacrificialPage &+ r.below(4096)            // unaligned
        default: return FuzzSpace.sacrificialPage
        }
    }

    /// A page-table entry value: a frame from `frame` (or any of its own when the target is the
    /// sacrificial slot, which nothing else uses) with random flags, or raw bits.
    static func pte(_ r: inout SplitMix64) -> UInt64 {
        switch r.below(6) {
        case 0: return 0
        case 1: return r.next()
        default:
            let flags = UInt64(r.below(4096))
            let nx: UInt64 = r.oneIn(4) ? 1 << 63 : 0
            return UInt64(frame(&r)) << 12 | flags | nx
        }
    }
}
