// PortRanges.swift: a set of I/O port ranges, kept sorted, disjoint and merged: the ports a domain
// was given (domctl ioport_permission) or the ports the hypervisor keeps. Pure and bounded: it never
// touches a port, never holds more than `capacity` ranges, and a query never allocates.

/// The inclusive port range `first...last`.
public struct PortRange: Equatable, Sendable {
    public let first: UInt16
    public let last: UInt16

    public init?(first: UInt16, last: UInt16) {
        guard first <= last else { return nil }
        self.first = first
        self.last = last
    }

    /// `count` ports from `first`; nil when empty or past port 0xFFFF.
    public init?(first: UInt32, count: UInt32) {
        guard count >= 1, first <= 0xFFFF, count <= 0x1_0000 - first else { return nil }
        self.first = UInt16(first)
        self.last = UInt16(first + count - 1)
    }

    /// The ports an access of `size` bytes (1, 2 or 4) at `port` touches; nil past port 0xFFFF.
    public init?(access port: UInt16, size: UInt8) {
        self.init(first: UInt32(port), count: UInt32(size))
    }

    public func overlaps(_ other: PortRange) -> Bool { first <= other.last && other.first <= last }
    public func contains(_ other: PortRange) -> Bool { first <= other.first && other.last <= last }
}

public struct PortRanges: Sendable {
    /// Most ranges one set holds; a grant that would need more is refused (-ENOSPC), as a Xen
    /// rangeset's limit refuses.
    public static let capacity = 32

    public private(set) var ranges: [PortRange] = []

    public init() {}

    public init(_ list: [PortRange]) {
        for r in list { _ = add(r) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Adds `r`, merging with overlapping and adjacent ranges. False (and unchanged) when the result
    /// would hold more than `capacity` ranges.
    public mutating func add(_ r: PortRange) -> Bool {
        var merged = (first: Int(r.first), last: Int(r.last))
        var result: [PortRange] = []
        var placed = false
        for e in ranges {
            if Int(e.last) + 1 < merged.first {
                result.append(e)
            } else if Int(e.first) > merged.last + 1 {
                if !placed { result.append(PortRange(first: UInt16(merged.first), last: UInt16(merged.last))!); placed = true }
                result.append(e)
            } else {
                merged = (min(merged.first, Int(e.first)), max(merged.last, Int(e.last)))
            }
        }
        if !placed { result.append(PortRange(first: UInt16(merged.first), last: UInt16(merged.last))!) }
        guard result.count <= Self.capacity else { return false }
        ranges = result
        return true
    }

    /// Removes every port of `r`. False (and unchanged) when splitting a range would need more
    /// than `capacity` ranges.
    public mutating func remove(_ r: PortRange) -> Bool {
        var result: [PortRange] = []
        for e in ranges {
            guard e.overlaps(r) else { result.append(e); continue }
            if e.first < r.first { result.append(PortRange(first: e.first, last: r.first - 1)!) }
            if e.last > r.last { result.append(PortRange(first: r.last + 1, last: e.last)!) }
        }
        guard result.count <= Self.capacity else { return false }
        ranges = result
        return true
    }

    /// True when every port of `r` is in the set.
    public func covers(_ r: PortRange) -> Bool {
        // Disjoint and merged: a covered range lies inside one element.
        for e in ranges where e.contains(r) { return true }
        return false
    }

    /// True when some port of `r` is in the set.
    public func intersects(_ r: PortRange) -> Bool {
        for e in ranges where e.overlaps(r) { return true }
        return false
    }
}
