// HypercallRecord.swift: the bytes of a structure (or an array of them) that a guest passes to a
// hypercall, written and read at the offsets of PVABI's layouts. It must never know a layout
// itself (callers name PVABI's offsets) and never hold anything but the structure's bytes.

/// A little-endian buffer of `count` elements of `stride` bytes each, zeroed at creation.
public struct HypercallRecord {
    public let stride: Int
    public private(set) var bytes: [UInt8]

    /// `count` zeroed elements of `stride` bytes: a PVABI layout's `size`.
    public init(stride: Int, count: Int = 1) {
        precondition(stride > 0 && count >= 0, "a structure has a size")
        self.stride = stride
        bytes = [UInt8](repeating: 0, count: stride * count)
    }

    public var count: Int { bytes.count / stride }

    /// Adds one zeroed element; returns its index.
    @discardableResult
    public mutating func append() -> Int {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: stride))
        return count - 1
    }

    /// Stores `value` (its width is the field's) at `offset` of element `element`.
    public mutating func set<T: FixedWidthInteger>(_ value: T, at offset: Int, element: Int = 0) {
        let base = position(offset, MemoryLayout<T>.size, element)
        for i in 0..<MemoryLayout<T>.size { bytes[base + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// The field of type `T` at `offset` of element `element`.
    public func get<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, element: Int = 0) -> T {
        let base = position(offset, MemoryLayout<T>.size, element)
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: bytes[base + i]) << (8 * i) }
        return value
    }

    /// Runs `body` with the guest virtual address of the first element (what a hypercall takes);
    /// OUT fields the hypervisor writes there are in `bytes` afterwards.
    public mutating func withAddress<R>(_ body: (UInt32) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { body(UInt32(truncatingIfNeeded: UInt(bitPattern: $0.baseAddress))) }
    }

    private func position(_ offset: Int, _ width: Int, _ element: Int) -> Int {
        precondition(offset >= 0 && offset + width <= stride && element >= 0 && element < count,
                     "a field lies inside its structure")
        return element * stride + offset
    }
}
