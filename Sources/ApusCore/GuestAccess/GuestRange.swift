// GuestRange.swift: a span of guest virtual addresses checked, once, to lie wholly in guest space.
// It is the only way the hypervisor names guest memory. It must never be built without the check,
// and it offers no arithmetic that could overflow: sub-ranges are taken by checked slicing.

import PVABI

/// `[start, start + count)` with no wrap past 2^32 and an end at or below `limit`
/// (HYPERVISOR_VIRT_START for everything a hypercall names). Built only by `init?`.
public struct GuestRange: Equatable, Sendable {
    /// The first guest virtual address. Read only by the copy routines that take the range.
    public let start: UInt32
    /// How many bytes the range holds.
    public let count: UInt32

    /// What a hypercall argument may name: guest space ends where the hypervisor's begins. The
    /// read-only M2P (readable by ring 1 through its segment) is still the hypervisor's to copy from.
    public static let limit: UInt32 = XenLayout.hypervisorVirtStart

    /// Checks `[va, va + count)` against the limit. nil when it wraps or reaches the limit.
    public init?(_ va: UInt32, count: UInt32, limit: UInt32 = GuestRange.limit) {
        let (end, wrapped) = va.addingReportingOverflow(count)
        guard !wrapped, end <= limit else { return nil }
        start = va
        self.count = count
    }

    /// The same range as `init?(va, count: size)` (the same nil), written for a size fixed in the
    /// caller (an iret frame, a word): then the whole check is one compare of `va`.
    @inline(__always)
    public static func fixed(_ va: UInt32, size: UInt32) -> GuestRange? {
        guard size <= limit, va <= limit &- size else { return nil }
        return GuestRange(checkedStart: va, count: size)
    }

    private init(checkedStart: UInt32, count: UInt32) {
        start = checkedStart
        self.count = count
    }

    /// One past the last byte: never wraps, the init made sure of it.
    public var end: UInt32 { start &+ count }

    /// `count` bytes `offset` bytes in, or nil when they do not fit inside this range.
    public func slice(at offset: UInt32, count: UInt32) -> GuestRange? {
        guard offset <= self.count, count <= self.count &- offset else { return nil }
        return GuestRange(checkedStart: start &+ offset, count: count)
    }

    /// Element `index` of `size` bytes of a guest array that starts at `base` and whose length is
    /// not known up front (a list that ends at a terminator): computed in 64 bits, then checked.
    public static func element(of base: UInt32, index: UInt32, size: UInt32) -> GuestRange? {
        let start = UInt64(base) + UInt64(index) * UInt64(size)
        guard start <= UInt64(UInt32.max) else { return nil }
        return GuestRange(UInt32(start), count: size)
    }

    /// Everything from `offset` to the end, or nil past the end.
    public func dropping(_ offset: UInt32) -> GuestRange? {
        guard offset <= count else { return nil }
        return slice(at: offset, count: count &- offset)
    }
}
