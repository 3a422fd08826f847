// ResourceRanges.swift: a set of inclusive ranges of one kind of machine resource (I/O ports,
// device-memory frames, interrupt lines), kept sorted, disjoint and merged: what a domain was given
// (domctl ioport/iomem/irq_permission) or what the hypervisor keeps. Pure and bounded: it never
// touches the resource, never holds more than `capacity` ranges, and a query never allocates.

/// The inclusive range `first...last` of resource numbers.
public struct ResourceRange<T: FixedWidthInteger & UnsignedInteger & Sendable>: Equatable, Sendable {
    public let first: T
    public let last: T

    public init?(first: T, last: T) {
        guard first <= last else { return nil }
        self.first = first
        self.last = last
    }

    /// `count` numbers from `first`; nil when empty or past T's largest value.
    public init?(first: UInt64, count: UInt64) {
        let top = UInt64(T.max)
        guard count >= 1, first <= top, count - 1 <= top - first else { return nil }
        self.first = T(first)
        self.last = T(first + (count - 1))
    }

    public func overlaps(_ other: Self) -> Bool { first <= other.last && other.first <= last }
    public func contains(_ other: Self) -> Bool { first <= other.first && other.last <= last }
}

/// An I/O port range.
public typealias PortRange = ResourceRange<UInt16>
/// A range of machine frame numbers (device memory).
public typealias FrameNumberRange = ResourceRange<UInt32>

extension ResourceRange where T == UInt16 {
    /// The ports an access of `size` bytes (1, 2 or 4) at `port` touches; nil past port 0xFFFF.
    public init?(access port: UInt16, size: UInt8) {
        self.init(first: UInt64(port), count: UInt64(size))
    }
}

public struct ResourceRanges<T: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// Most ranges one set holds; a grant that would need more is refused (-ENOMEM), as a Xen
    /// rangeset's limit refuses.
    public static var capacity: Int { 32 }

    public private(set) var ranges: [ResourceRange<T>] = []

    public init() {}

    public init(_ list: [ResourceRange<T>]) {
        for r in list { _ = add(r) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Adds `r`, merging with overlapping and adjacent ranges. False (and unchanged) when the result
    /// would hold more than `capacity` ranges.
    public mutating func add(_ r: ResourceRange<T>) -> Bool {
        // 64-bit bounds: `last + 1` of T's largest value must not overflow.
        var lo = UInt64(r.first), hi = UInt64(r.last)
        var result: [ResourceRange<T>] = []
        var placed = false
        for e in ranges {
            if UInt64(e.last) + 1 < lo {
                result.append(e)
            } else if UInt64(e.first) > hi + 1 {
                if !placed { result.append(ResourceRange(first: T(lo), last: T(hi))!); placed = true }
                result.append(e)
            } else {
                lo = min(lo, UInt64(e.first))
                hi = max(hi, UInt64(e.last))
            }
        }
        if !placed { result.append(ResourceRange(first: T(lo), last: T(hi))!) }
        guard result.count <= Self.capacity else { return false }
        ranges = result
        return true
    }

    /// Removes every number of `r`. False (and unchanged) when splitting a range would need more
    /// than `capacity` ranges.
    public mutating func remove(_ r: ResourceRange<T>) -> Bool {
        var result: [ResourceRange<T>] = []
        for e in ranges {
            guard e.overlaps(r) else { result.append(e); continue }
            if e.first < r.first { result.append(ResourceRange(first: e.first, last: r.first - 1)!) }
            if e.last > r.last { result.append(ResourceRange(first: r.last + 1, last: e.last)!) }
        }
        guard result.count <= Self.capacity else { return false }
        ranges = result
        return true
    }

    /// True when every number of `r` is in the set.
    public func covers(_ r: ResourceRange<T>) -> Bool {
        // Disjoint and merged: a covered range lies inside one element.
        for e in ranges where e.contains(r) { return true }
        return false
    }

    /// True when some number of `r` is in the set.
    public func intersects(_ r: ResourceRange<T>) -> Bool {
        for e in ranges where e.overlaps(r) { return true }
        return false
    }

    /// True when `n` is in the set.
    public func contains(_ n: T) -> Bool { covers(ResourceRange(first: n, last: n)!) }
}

/// A set of I/O port ranges.
public typealias PortRanges = ResourceRanges<UInt16>
/// A set of machine frame ranges.
public typealias FrameNumberRanges = ResourceRanges<UInt32>
