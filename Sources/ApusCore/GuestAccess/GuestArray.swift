// GuestArray.swift: a guest array of fixed-size elements (multicall entries, mmu_update requests,
// frame lists), its length bounded before anything is read and its whole extent range-checked once.
// Elements are reached only by index through checked slicing; it must never compute a raw address.

/// `count` elements of `elementSize` bytes, all inside guest space.
public struct GuestArray: Equatable, Sendable {
    public let range: GuestRange
    public let count: UInt32
    public let elementSize: UInt32

    /// Why an array argument was refused: too many elements (the caller picks the errno), or an
    /// extent that is not guest memory (-EFAULT).
    public enum Refusal: Error, Equatable, Sendable {
        case tooLong
        case outsideGuest
    }

    /// Bounds `count` by `maxCount` first, then checks the whole extent.
    public static func check(_ va: UInt32, count: UInt32, elementSize: UInt32, maxCount: UInt32) -> Result<GuestArray, Refusal> {
        guard count <= maxCount else { return .failure(.tooLong) }
        // An empty array names no memory, wherever its pointer points (as on Xen).
        if count == 0, let empty = GuestRange(0, count: 0) { return .success(GuestArray(range: empty, count: 0, elementSize: elementSize)) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, let range = GuestRange(va, count: bytes) else { return .failure(.outsideGuest) }
        return .success(GuestArray(range: range, count: count, elementSize: elementSize))
    }

    private init(range: GuestRange, count: UInt32, elementSize: UInt32) {
        self.range = range
        self.count = count
        self.elementSize = elementSize
    }

    /// Element `index`, or nil past the end.
    public func element(_ index: UInt32) -> GuestRange? {
        guard index < count else { return nil }
        return range.slice(at: index &* elementSize, count: elementSize)
    }

    /// Elements `first..<first + n` as one range (a chunk read in one copy), or nil past the end.
    public func elements(_ first: UInt32, count n: UInt32) -> GuestRange? {
        guard first <= count, n <= count &- first else { return nil }
        return range.slice(at: first &* elementSize, count: n &* elementSize)
    }
}
