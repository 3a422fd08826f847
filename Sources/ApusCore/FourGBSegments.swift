// FourGBSegments.swift: the 4gb_segments vm_assist's rule, as 32-bit Xen's fixup_seg: guest segments
// are truncated below the hypervisor (DescriptorCheck), so an access through a "flat" segment at a
// negative offset (glibc's TLS does `mov %gs:-4`) faults, although the address it wraps to is the
// guest's own. The assist flips such a segment, in the guest's descriptor table, between grows-up
// (truncated at GUEST_SEGMENT_MAX_ADDR) and grows-down (wholly below its base), whichever makes the
// faulting offset valid, and the guest runs the instruction again. Pure: it must never produce a
// descriptor DescriptorCheck would not accept unchanged, nor reach the hypervisor's addresses.

import PVABI

public enum FourGBSegments {
    /// The descriptor that replaces `raw` so that `offset` becomes valid, or nil when the assist does
    /// not apply (not a present 32-bit page-granular data segment, not one that was truncated at the
    /// maximum or flipped from such, or an offset the flip would not make valid).
    public static func flip(_ raw: UInt64, offset: UInt32) -> UInt64? {
        let d = SegmentDescriptor(raw: raw)
        guard d.present, d.isCodeOrData, !d.isCode, d.granularity4K, d.defaultBig else { return nil }
        let base = d.base
        guard base < DescriptorCheck.firstRefusedBase else { return nil }
        let pageMask: UInt32 = ~UInt32(PAE.pageSize - 1)
        let flipped: UInt64
        if d.type & 0x4 != 0 {
            // Grows down: one this rule made covers [base & 0xFFF, base). An offset at or below its
            // limit wants the grows-up form back, truncated at the maximum.
            let start = (UInt64(base) + UInt64(d.limitBytes) + 1) & 0xFFFF_FFFF
            guard UInt64(base) + UInt64(d.limitBytes) + 1 >= 1 << 32, start < UInt64(PAE.pageSize),
                  offset <= d.limitBytes else { return nil }
            let pages = (DescriptorCheck.segmentMaxAddr - base) >> 12
            flipped = with(raw, rawLimit: pages - 1, growsDown: false)
            guard UInt64(offset) <= UInt64(pages) << 12 &- 1 else { return nil }
        } else {
            // Grows up and ends within a page of the maximum (a flat segment DescriptorCheck truncated):
            // an offset past its limit wraps below the base; grows down over [base & 0xFFF, base).
            let end = UInt64(base) + UInt64(d.limitBytes) + 1
            guard end <= UInt64(DescriptorCheck.segmentMaxAddr), UInt64(DescriptorCheck.segmentMaxAddr) - end < UInt64(PAE.pageSize),
                  offset > d.limitBytes, base & pageMask != 0 else { return nil }
            let size = (UInt64(1) << 32) - UInt64(base & pageMask)         // bytes the grows-down form leaves out
            let rawLimit = UInt32(truncatingIfNeeded: size >> 12) - 1
            flipped = with(raw, rawLimit: rawLimit, growsDown: true)
            guard UInt64(offset) >= size else { return nil }
        }
        // The flipped descriptor must be one the check accepts as it is.
        guard case .accept(let accepted) = DescriptorCheck.check(flipped), accepted == flipped else { return nil }
        return flipped
    }

    /// `raw` with a new 20-bit limit and the grows-down bit set or clear.
    static func with(_ raw: UInt64, rawLimit: UInt32, growsDown: Bool) -> UInt64 {
        var r = raw & ~(UInt64(0xFFFF) | UInt64(0xF) << 48 | UInt64(1) << 42)
        r |= UInt64(rawLimit & 0xFFFF) | UInt64((rawLimit >> 16) & 0xF) << 48
        if growsDown { r |= 1 << 42 }
        return r
    }
}
