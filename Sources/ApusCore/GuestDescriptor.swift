// The check every descriptor a guest puts in its GDT or LDT must pass (set_gdt, update_descriptor, LDT pages).
// A pure function of the 8 descriptor bytes: it must never read guest memory or let a descriptor reach ring 0 or the hypervisor's addresses.
//
// Why these rules. The guest's GDT and LDT are live hardware tables, so whatever the guest
// writes there the CPU will load. A guest must not be able to build a segment that covers
// the hypervisor (0xF6800000 and up), one that runs at ring 0, or a gate into either. Rules:
//
// - Not present: accepted unchanged. Loading it always faults (#NP), so it grants nothing;
//   making it present later goes through this check again.
// - Every present descriptor with DPL 0 has it raised to 1, the guest kernel's ring, as Xen's
//   check_descriptor does for 32-bit PV guests (__fixup_guest_selector): 32-bit PV Linux's GDT
//   holds its kernel code and data at DPL 0 and relies on it. DPL 0 is never installed.
// - Code and data: the base must sit at least one page below GUEST_SEGMENT_MAX_ADDR.
//   A grows-up segment must end below GUEST_SEGMENT_MAX_ADDR: a page-granular limit that
//   reaches it is truncated (the guest's "flat 4 GiB" becomes "flat up to the M2P's end"),
//   a byte-granular one is refused. An expand-down data segment's valid range runs from
//   base + limit + 1 up to base + 4 GiB - 1 (or 64 KiB with B = 0), which covers the hypervisor
//   unless the start itself wraps past 4 GiB: only a page-granular 32-bit one whose range lies
//   wholly below its base, and not empty (base + limit + 1 >= 4 GiB > limit + 1), is accepted, the form 32-bit Xen's
//   4gb_segments assist gives a flat segment (FourGBSegments.swift); any other is refused.
// - System descriptors: only 32-bit call gates, with DPL >= 1 and a target code selector the
//   guest owns (an LDT selector, a guest GDT entry below 7168, or the flat ring-1/ring-3
//   code selectors). A call gate runs its target at the target segment's DPL, and every
//   guest-owned code segment has DPL >= 1 by the raise above, so no gate reaches ring 0.
//   TSS, LDT, task, interrupt and trap gates and 16-bit gates are all refused: interrupt
//   and trap gates belong in the IDT, tasks are not virtualised, and the hypervisor builds
//   the LDT descriptor itself.

import PVABI

/// Why a guest descriptor was refused. `reason` is a sentence for the log.
public enum DescriptorRefusal: Equatable, Sendable {
    case baseInHypervisorArea
    case byteGranularLimitReachesHypervisor
    case expandDown
    case taskStateSegment
    case localDescriptorTable
    case taskGate
    case sixteenBitGate
    case interruptOrTrapGate
    case reservedSystemType
    case callGateReservedBits
    case callGateTargetNotGuestOwned

    public var reason: StaticString {
        switch self {
        case .baseInHypervisorArea:
            return "The segment base lies in the last page below 0xF6800000 or above it, where the hypervisor's memory begins."
        case .byteGranularLimitReachesHypervisor:
            return "The byte-granular segment reaches 0xF6800000 or wraps past 4 GiB, into the hypervisor's memory; use 4 KiB granularity to have it truncated."
        case .expandDown:
            return "An expand-down data segment is refused unless it is page granular, 32-bit and wholly below its base: its upper bound is base + 4 GiB, which otherwise covers the hypervisor's memory."
        case .taskStateSegment:
            return "A guest may not install a task state segment: hardware tasks are not virtualised."
        case .localDescriptorTable:
            return "A guest may not install an LDT descriptor: the hypervisor builds it from mmuext_op set_ldt."
        case .taskGate:
            return "A guest may not install a task gate: hardware tasks are not virtualised."
        case .sixteenBitGate:
            return "16-bit call, interrupt and trap gates are refused; only 32-bit call gates are allowed."
        case .interruptOrTrapGate:
            return "Interrupt and trap gates belong in the IDT, which the guest sets with set_trap_table."
        case .reservedSystemType:
            return "The system descriptor type is reserved by the architecture."
        case .callGateReservedBits:
            return "Bits 5-7 of a call gate's parameter-count byte are reserved and must be zero."
        case .callGateTargetNotGuestOwned:
            return "The call gate's target selector names a hypervisor segment; it must be an LDT selector, a GDT entry below 7168, or FLAT_RING1_CS or FLAT_RING3_CS."
        }
    }
}

/// The outcome of checking one guest descriptor.
public enum DescriptorVerdict: Equatable, Sendable {
    /// Install this value: the guest's own, or a copy with a grows-up limit truncated.
    case accept(UInt64)
    /// Install nothing; the hypercall fails (-EINVAL) and the reason is logged.
    case refuse(DescriptorRefusal)
}

/// The check of guest GDT and LDT entries.
public enum DescriptorCheck {
    /// GUEST_SEGMENT_MAX_ADDR: no guest segment may reach this address.
    public static let segmentMaxAddr: UInt32 = XenLayout.guestSegmentMaxAddr
    /// The lowest base refused: a segment must start at least one page below the maximum.
    public static let firstRefusedBase: UInt32 = XenLayout.guestSegmentMaxAddr - 0x1000

    /// Checks a descriptor a guest wants in its GDT or LDT.
    /// IN: the raw 8 bytes (little-endian, as in the table).
    /// OUT: `.accept(value)` with the value to store, or `.refuse(why)`.
    public static func check(_ raw: UInt64) -> DescriptorVerdict {
        let given = SegmentDescriptor(raw: raw)
        if !given.present { return .accept(raw) }
        let d = SegmentDescriptor(raw: given.dpl == 0 ? raw | raisedDPL : raw)
        return d.isSystem ? checkSystem(d) : checkCodeOrData(d)
    }

    /// DPL 1 (bits 45-46 = 01): what a DPL-0 descriptor becomes.
    static let raisedDPL: UInt64 = 1 << 45

    /// Whether a call gate may name `selector` as its target code segment: every segment it
    /// can name is one the guest built (and this check vetted) or a flat guest code segment.
    public static func isGuestOwnedCodeSelector(_ selector: UInt16) -> Bool {
        if selector & 0x4 != 0 { return true } // LDT: every entry passed this check.
        if Int(selector >> 3) < Selector.firstReservedGDTEntry { return true }
        return selector == Selector.flatRing1CS || selector == Selector.flatRing3CS
    }

    private static func checkCodeOrData(_ d: SegmentDescriptor) -> DescriptorVerdict {
        if d.base >= firstRefusedBase { return .refuse(.baseInHypervisorArea) }
        // Data (type bit 3 clear) with the expand-down bit (type bit 2) set.
        if !d.isCode && d.type & 0x4 != 0 {
            guard d.granularity4K, d.defaultBig, d.limitBytes < 0xFFFF_FFFF, UInt64(d.base) + UInt64(d.limitBytes) + 1 >= 1 << 32 else { return .refuse(.expandDown) }
            return .accept(d.raw)
        }

        let lastByte = UInt64(d.base) + UInt64(d.limitBytes)
        if lastByte < UInt64(segmentMaxAddr) { return .accept(d.raw) }
        if !d.granularity4K { return .refuse(.byteGranularLimitReachesHypervisor) }

        // Whole pages that fit between the base and the maximum, minus one (the limit is
        // inclusive). The base check leaves at least one whole page.
        let pages = (segmentMaxAddr - d.base) >> 12
        let limit = UInt64(pages - 1)
        var raw = d.raw
        raw &= ~(UInt64(0xFFFF) | (UInt64(0xF) << 48))
        raw |= (limit & 0xFFFF) | ((limit >> 16) & 0xF) << 48
        return .accept(raw)
    }

    private static func checkSystem(_ d: SegmentDescriptor) -> DescriptorVerdict {
        switch d.type {
        case 0x1, 0x3, 0x9, 0xB: return .refuse(.taskStateSegment)
        case 0x2: return .refuse(.localDescriptorTable)
        case 0x5: return .refuse(.taskGate)
        case 0x4, 0x6, 0x7: return .refuse(.sixteenBitGate)
        case 0xE, 0xF: return .refuse(.interruptOrTrapGate)
        case SegmentDescriptor.SystemType.callGate32: break
        default: return .refuse(.reservedSystemType)
        }
        // Bits 37-39: the top of the parameter-count byte.
        if d.raw & (UInt64(0x7) << 37) != 0 { return .refuse(.callGateReservedBits) }
        let target = UInt16(truncatingIfNeeded: d.raw >> 16)
        if !isGuestOwnedCodeSelector(target) { return .refuse(.callGateTargetNotGuestOwned) }
        return .accept(d.raw)
    }
}
