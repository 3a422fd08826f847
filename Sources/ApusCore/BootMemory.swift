// Start-of-day memory accounting: which whole 4 KiB frames are free to allocate, from the firmware's
// map and the ranges already in use. Pure arithmetic: it must never read or write memory itself.

/// A half-open range of physical addresses [start, end).
public struct PhysRange: Equatable, Sendable {
    public let start: UInt64
    /// One past the last byte.
    public let end: UInt64

    public init(start: UInt64, end: UInt64) {
        precondition(start <= end, "a physical range cannot end before it starts")
        self.start = start
        self.end = end
    }

    /// Nil when start + length does not fit in 64 bits.
    public init?(start: UInt64, length: UInt64) {
        let (end, overflow) = start.addingReportingOverflow(length)
        guard !overflow else { return nil }
        self.start = start
        self.end = end
    }

    public var length: UInt64 { end - start }
    public var isEmpty: Bool { start == end }

    /// Empty ranges overlap nothing.
    public func overlaps(_ other: PhysRange) -> Bool {
        start < other.end && other.start < end && !isEmpty && !other.isEmpty
    }
}

/// A run of machine frames [first, first + count). Never wraps past frame 2^32 - 1.
public struct FrameRange: Equatable, Sendable {
    public let first: UInt32
    public let count: UInt32

    public init(first: UInt32, count: UInt32) {
        precondition(!first.addingReportingOverflow(count).overflow, "a frame range cannot wrap")
        self.first = first
        self.count = count
    }

    /// One past the last frame.
    public var end: UInt32 { first + count }
}

/// What the allocator may use, and how much memory the machine has.
public struct BootMemorySummary: Equatable, Sendable {
    public static let frameSize: UInt64 = 4096
    public static let frameShift: UInt64 = 12
    /// Frames this hypervisor manages for now: the low 4 GiB.
    public static let frameLimit: UInt32 = 0x10_0000

    /// Bytes the firmware reports available, after overlaps are resolved (no cap).
    public let totalBytes: UInt64
    /// Bytes in the usable frames, i.e. 4096 * the frames in `usableFrameRanges`.
    public let usableBytes: UInt64
    /// Bytes the map marks as anything but available, plus the reserved ranges that lie
    /// in available memory.
    public let reservedBytes: UInt64
    /// One past the last whole available frame (reserved or not), capped at 4 GiB and at
    /// the caller's limit. Sizes the frame table.
    public let highestFrame: UInt32
    /// Whole frames inside available memory and outside every reserved range, below
    /// `highestFrame`, sorted and merged.
    public let usableFrameRanges: [FrameRange]

    /// Summarizes `regions` (in any order, possibly overlapping: where an available region
    /// meets any other kind, the other kind wins, because handing out firmware memory is
    /// worse than losing a little RAM) minus `reserved` (the hypervisor image, modules,
    /// boot data, the first MiB). Only frames below `maxFrame` (and 4 GiB) are usable.
    public init(regions: [MemoryRegion], reserved: [PhysRange], maxFrame: UInt32 = BootMemorySummary.frameLimit) {
        var availableRanges: [PhysRange] = []
        var otherRanges: [PhysRange] = []
        for region in regions {
            let range = PhysRange(start: region.start, end: region.end)
            if region.kind == .available { availableRanges.append(range) } else { otherRanges.append(range) }
        }
        let other = RangeSet(otherRanges)
        let available = RangeSet(availableRanges).subtracting(other)
        let reservedSet = RangeSet(reserved)
        let usable = available.subtracting(reservedSet)

        totalBytes = available.totalLength
        reservedBytes = other.totalLength + available.intersecting(reservedSet).totalLength

        let cap = min(maxFrame, BootMemorySummary.frameLimit)
        var highest: UInt32 = 0
        for range in available.ranges {
            if let frames = BootMemorySummary.wholeFrames(in: range, below: cap), frames.count > 0 {
                highest = max(highest, frames.end)
            }
        }
        highestFrame = highest

        var frameRanges: [FrameRange] = []
        var bytes: UInt64 = 0
        for range in usable.ranges {
            guard let frames = BootMemorySummary.wholeFrames(in: range, below: cap), frames.count > 0 else { continue }
            // Two byte ranges that touch are already merged, so frame runs never touch here.
            frameRanges.append(frames)
            bytes += UInt64(frames.count) * BootMemorySummary.frameSize
        }
        usableFrameRanges = frameRanges
        usableBytes = bytes
    }

    /// The whole frames inside `range`, cut at frame `limit`; nil when there are none.
    static func wholeFrames(in range: PhysRange, below limit: UInt32) -> FrameRange? {
        let first = (range.start >> frameShift) + (range.start & (frameSize - 1) == 0 ? 0 : 1)
        let end = min(range.end >> frameShift, UInt64(limit))
        guard first < end else { return nil }
        return FrameRange(first: UInt32(first), count: UInt32(end - first))
    }
}

/// A sorted list of disjoint, non-touching, non-empty ranges: the union of what it was built from.
struct RangeSet {
    private(set) var ranges: [PhysRange]

    init(_ unsorted: [PhysRange]) {
        let sorted = unsorted.filter { !$0.isEmpty }.sorted { $0.start < $1.start }
        var merged: [PhysRange] = []
        for range in sorted {
            if let last = merged.last, range.start <= last.end {
                merged[merged.count - 1] = PhysRange(start: last.start, end: max(last.end, range.end))
            } else {
                merged.append(range)
            }
        }
        ranges = merged
    }

    private init(normalized: [PhysRange]) { ranges = normalized }

    var totalLength: UInt64 { ranges.reduce(0) { $0 + $1.length } }

    /// The parts of self not covered by `other`.
    func subtracting(_ other: RangeSet) -> RangeSet {
        var result: [PhysRange] = []
        for range in ranges {
            var start = range.start
            for cut in other.ranges where cut.end > start && cut.start < range.end {
                if cut.start > start { result.append(PhysRange(start: start, end: cut.start)) }
                start = max(start, cut.end)
                if start >= range.end { break }
            }
            if start < range.end { result.append(PhysRange(start: start, end: range.end)) }
        }
        return RangeSet(normalized: result)
    }

    /// The parts of self also covered by `other`.
    func intersecting(_ other: RangeSet) -> RangeSet {
        var result: [PhysRange] = []
        for range in ranges {
            for cut in other.ranges where cut.end > range.start && cut.start < range.end {
                result.append(PhysRange(start: max(range.start, cut.start), end: min(range.end, cut.end)))
            }
        }
        return RangeSet(normalized: result)
    }
}
