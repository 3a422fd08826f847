// GrantRefPool.swift: which of a domU's grant references are free: references 0-7 are Xen's reserved
// ones (console, xenstore), the rest of the table's frames are handed out and taken back. Pure
// bookkeeping: it never writes a grant entry, and it never hands out a reference twice.

public struct GrantRefPool: Equatable, Sendable {
    /// GNTTAB_NR_RESERVED_ENTRIES.
    public static let reserved: UInt32 = 8
    public let limit: UInt32
    private var next: UInt32 = GrantRefPool.reserved
    private var returned: [UInt32] = []

    /// A pool over references below `limit` (the table's entries).
    public init(limit: UInt32) { self.limit = limit }

    /// A free reference, or nil when none is left.
    public mutating func take() -> UInt32? {
        if let r = returned.popLast() { return r }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }

    /// Gives `ref` back; false (and nothing changes) when it was never handed out or is already free.
    public mutating func give(_ ref: UInt32) -> Bool {
        guard ref >= GrantRefPool.reserved, ref < next, !returned.contains(ref) else { return false }
        returned.append(ref)
        return true
    }

    /// References handed out and not given back.
    public var inUse: UInt32 { next - GrantRefPool.reserved - UInt32(returned.count) }
}
