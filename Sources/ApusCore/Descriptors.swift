// Encoding and decoding of x86 segment and gate descriptors, and the hypervisor's entries in the reserved GDT page.
// Bit layouts only: it must never load a descriptor table, and never accept a guest descriptor (that check lives elsewhere).

import PVABI

/// An 8-byte segment descriptor (code, data, or a system segment such as the TSS).
///
/// Bits: limit 0-15 | base 16-39 | type 40-43 | S 44 | DPL 45-46 | P 47 |
/// limit 48-51 | AVL 52 | L 53 (0 in 32-bit mode) | D/B 54 | G 55 | base 56-63.
public struct SegmentDescriptor: Equatable, Sendable {
    public var raw: UInt64

    public init(raw: UInt64) { self.raw = raw }

    /// Builds a descriptor from its fields. `limit` is the raw 20-bit limit (in 4 KiB units
    /// when `granularity4K`), `type` the 4-bit type, `dpl` 0-3; larger values are a bug.
    public init(
        base: UInt32, limit: UInt32, type: UInt8, isCodeOrData: Bool, dpl: UInt8,
        present: Bool, available: Bool = false, defaultBig: Bool, granularity4K: Bool
    ) {
        precondition(limit <= 0xF_FFFF, "segment limit has 20 bits")
        precondition(type <= 0xF, "segment type has 4 bits")
        precondition(dpl <= 3, "DPL is 0-3")
        let base64 = UInt64(base)
        let limit64 = UInt64(limit)
        var raw: UInt64 = limit64 & 0xFFFF
        raw |= (base64 & 0xFF_FFFF) << 16
        raw |= UInt64(type) << 40
        if isCodeOrData { raw |= 1 << 44 }
        raw |= UInt64(dpl) << 45
        if present { raw |= 1 << 47 }
        raw |= (limit64 >> 16) << 48
        if available { raw |= 1 << 52 }
        if defaultBig { raw |= 1 << 54 }
        if granularity4K { raw |= 1 << 55 }
        raw |= (base64 >> 24) << 56
        self.raw = raw
    }

    /// Type values for code and data segments (S = 1). Bit 0 is "accessed": set up front so
    /// the CPU never has to write it into the descriptor table on a segment load, which
    /// lets the table be mapped read-only.
    public enum CodeDataType {
        public static let dataReadWriteAccessed: UInt8 = 0x3
        public static let codeExecuteReadAccessed: UInt8 = 0xB
        /// Bit 3 of the type: set for code, clear for data.
        public static let codeBit: UInt8 = 0x8
    }

    /// Type values for system segments (S = 0).
    public enum SystemType {
        public static let availableTSS32: UInt8 = 0x9
        public static let busyTSS32: UInt8 = 0xB
        public static let callGate32: UInt8 = 0xC
        public static let interruptGate32: UInt8 = 0xE
        public static let trapGate32: UInt8 = 0xF
    }

    public var base: UInt32 {
        UInt32(truncatingIfNeeded: (raw >> 16) & 0xFF_FFFF) | UInt32(truncatingIfNeeded: (raw >> 56) & 0xFF) << 24
    }

    /// The 20-bit limit as stored.
    public var rawLimit: UInt32 {
        UInt32(truncatingIfNeeded: raw & 0xFFFF) | UInt32(truncatingIfNeeded: (raw >> 48) & 0xF) << 16
    }

    /// Offset of the last addressable byte, with the granularity applied.
    public var limitBytes: UInt32 {
        granularity4K ? (rawLimit << 12) | 0xFFF : rawLimit
    }

    public var type: UInt8 { UInt8(truncatingIfNeeded: (raw >> 40) & 0xF) }
    /// S = 1: a code or data segment; S = 0: a system segment or gate.
    public var isCodeOrData: Bool { raw & (1 << 44) != 0 }
    public var isSystem: Bool { !isCodeOrData }
    public var isCode: Bool { isCodeOrData && type & CodeDataType.codeBit != 0 }
    public var dpl: UInt8 { UInt8(truncatingIfNeeded: (raw >> 45) & 0x3) }
    public var present: Bool { raw & (1 << 47) != 0 }
    public var available: Bool { raw & (1 << 52) != 0 }
    public var defaultBig: Bool { raw & (1 << 54) != 0 }
    public var granularity4K: Bool { raw & (1 << 55) != 0 }

    /// A present, 32-bit, page-granular code or data segment from base 0 whose last page is
    /// `limitPages` (0xFFFFF: all 4 GiB).
    public static func flat(code: Bool, dpl: UInt8, limitPages: UInt32) -> SegmentDescriptor {
        SegmentDescriptor(
            base: 0, limit: limitPages,
            type: code ? CodeDataType.codeExecuteReadAccessed : CodeDataType.dataReadWriteAccessed,
            isCodeOrData: true, dpl: dpl, present: true, defaultBig: true, granularity4K: true)
    }

    /// An available 32-bit TSS, DPL 0 so no ring but 0 can switch to it, byte granular.
    public static func tss32(base: UInt32, limit: UInt32) -> SegmentDescriptor {
        SegmentDescriptor(
            base: base, limit: limit, type: SystemType.availableTSS32, isCodeOrData: false,
            dpl: 0, present: true, defaultBig: false, granularity4K: false)
    }
}

/// An 8-byte 32-bit interrupt or trap gate for the IDT.
///
/// Bits: offset 0-15 | selector 16-31 | zero 32-39 | type 40-43 | S = 0 44 | DPL 45-46 |
/// P 47 | offset 48-63.
public struct GateDescriptor: Equatable, Sendable {
    public var raw: UInt64

    public init(raw: UInt64) { self.raw = raw }

    init(offset: UInt32, selector: UInt16, type: UInt8, dpl: UInt8) {
        precondition(dpl <= 3, "DPL is 0-3")
        let offset64 = UInt64(offset)
        var raw: UInt64 = offset64 & 0xFFFF
        raw |= UInt64(selector) << 16
        raw |= UInt64(type) << 40
        raw |= UInt64(dpl) << 45
        raw |= 1 << 47
        raw |= (offset64 >> 16) << 48
        self.raw = raw
    }

    /// A gate that clears EFLAGS.IF on entry. `dpl` is the lowest privilege allowed to
    /// reach it with `int n` (the hypercall gate 0x82 has DPL 1: ring 1 only).
    public static func interruptGate(offset: UInt32, selector: UInt16, dpl: UInt8) -> GateDescriptor {
        GateDescriptor(offset: offset, selector: selector, type: SegmentDescriptor.SystemType.interruptGate32, dpl: dpl)
    }

    /// A gate that leaves EFLAGS.IF as it was.
    public static func trapGate(offset: UInt32, selector: UInt16, dpl: UInt8) -> GateDescriptor {
        GateDescriptor(offset: offset, selector: selector, type: SegmentDescriptor.SystemType.trapGate32, dpl: dpl)
    }

    public var offset: UInt32 {
        UInt32(truncatingIfNeeded: raw & 0xFFFF) | UInt32(truncatingIfNeeded: (raw >> 48) & 0xFFFF) << 16
    }
    public var selector: UInt16 { UInt16(truncatingIfNeeded: raw >> 16) }
    public var type: UInt8 { UInt8(truncatingIfNeeded: (raw >> 40) & 0xF) }
    public var dpl: UInt8 { UInt8(truncatingIfNeeded: (raw >> 45) & 0x3) }
    public var present: Bool { raw & (1 << 47) != 0 }
    public var isInterruptGate: Bool { raw & (1 << 44) == 0 && type == SegmentDescriptor.SystemType.interruptGate32 }
    public var isTrapGate: Bool { raw & (1 << 44) == 0 && type == SegmentDescriptor.SystemType.trapGate32 }
}

/// The hypervisor's descriptors in the reserved GDT page (entries 7168 and up), the same
/// in every address space so the guest's flat selectors work without a guest GDT.
public enum HypervisorGDT {
    /// Last page the guest segments reach: their limit is GUEST_SEGMENT_MAX_ADDR - 1 (0xF67FFFFF),
    /// so ring 1 reads the M2P table and nothing of the hypervisor above it.
    public static let guestLimitPages: UInt32 = (XenLayout.guestSegmentMaxAddr >> 12) - 1
    /// The hypervisor's own segments cover all 4 GiB.
    public static let flatLimitPages: UInt32 = 0xF_FFFF

    /// The GDT index a selector names (the RPL and table bits dropped).
    public static func index(of selector: UInt16) -> Int { Int(selector >> 3) }

    /// Every hypervisor entry, as (GDT index, descriptor), for a TSS at `tssBase` whose
    /// last byte is at offset `tssLimit`.
    public static func reservedEntries(tssBase: UInt32, tssLimit: UInt32) -> [(index: Int, descriptor: SegmentDescriptor)] {
        [
            (index(of: Selector.hypervisorCS), .flat(code: true, dpl: 0, limitPages: flatLimitPages)),
            (index(of: Selector.hypervisorDS), .flat(code: false, dpl: 0, limitPages: flatLimitPages)),
            (index(of: Selector.flatRing1CS), .flat(code: true, dpl: 1, limitPages: guestLimitPages)),
            (index(of: Selector.flatRing1DS), .flat(code: false, dpl: 1, limitPages: guestLimitPages)),
            (index(of: Selector.flatRing3CS), .flat(code: true, dpl: 3, limitPages: guestLimitPages)),
            (index(of: Selector.flatRing3DS), .flat(code: false, dpl: 3, limitPages: guestLimitPages)),
            (index(of: Selector.tss), .tss32(base: tssBase, limit: tssLimit)),
        ]
    }
}
