// GuestBytes.swift: hypervisor-owned storage for a copy of guest bytes, fixed capacity, no heap.
// Fields are read and written at their PVABI offsets, little-endian. An offset outside the copy
// reads as 0 and writes nothing: it must never trap, whatever the offset.

/// Up to `N` bytes copied from (or to be copied to) guest memory; `count` of them are meaningful.
public struct GuestBytes<let N: Int> {
    private var storage: InlineArray<N, UInt8>
    /// How many bytes are meaningful (the size of the guest structure), at most N.
    public private(set) var count: Int

    /// `count` zero bytes (clamped to 0...N).
    public init(count: Int = N) {
        storage = InlineArray(repeating: 0)
        self.count = count < 0 ? 0 : (count > N ? N : count)
    }

    private func fits(_ offset: Int, _ width: Int) -> Bool { offset >= 0 && offset <= count - width }

    public func u8(_ offset: Int) -> UInt8 { fits(offset, 1) ? storage[offset] : 0 }

    public func u16(_ offset: Int) -> UInt16 {
        guard fits(offset, 2) else { return 0 }
        return UInt16(littleEndian: storage.span.bytes.unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    public func u32(_ offset: Int) -> UInt32 {
        guard fits(offset, 4) else { return 0 }
        return UInt32(littleEndian: storage.span.bytes.unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    public func u64(_ offset: Int) -> UInt64 {
        UInt64(u32(offset)) | (fits(offset, 8) ? UInt64(u32(offset + 4)) << 32 : 0)
    }

    public mutating func set8(_ offset: Int, _ value: UInt8) {
        if fits(offset, 1) { storage[offset] = value }
    }

    public mutating func set16(_ offset: Int, _ value: UInt16) {
        guard fits(offset, 2) else { return }
        Swift.withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self) }
    }

    public mutating func set32(_ offset: Int, _ value: UInt32) {
        guard fits(offset, 4) else { return }
        Swift.withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    }

    public mutating func set64(_ offset: Int, _ value: UInt64) {
        guard fits(offset, 8) else { return }
        set32(offset, UInt32(truncatingIfNeeded: value))
        set32(offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }

    /// Copies up to `size` bytes of `text` at `offset`, leaving at least one NUL at the end.
    public mutating func setString(_ offset: Int, _ text: StaticString, size: Int) {
        text.withUTF8Buffer { t in
            var i = 0
            while i < t.count && i < size - 1 { set8(offset + i, t[i]); i += 1 }
        }
    }

    /// The bytes `[offset, offset + length)` (clamped to the copy), for text the caller logs.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = storage
        let n = count
        return withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    /// The raw storage, for the copy routines only.
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        Swift.withUnsafeMutableBytes(of: &storage) { body($0) }
    }
}
