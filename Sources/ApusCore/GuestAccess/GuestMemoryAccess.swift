// GuestMemoryAccess.swift: the seam between decoders and the memory of the guest that made the call.
// The hypervisor's implementation copies under the guest's own page tables (its access rights) and
// turns a fault into `false`; tests use a fake. Implementations must never touch memory outside `range`.

/// Copies between a checked guest range and hypervisor storage.
public protocol GuestMemoryAccess {
    /// Copies all of `range` into `destination` (at least `range.count` bytes). False when any byte
    /// is not mapped readable for the guest; `destination` is then partly written.
    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool
    /// Copies `range.count` bytes from `source` into the guest. False when any byte is not mapped
    /// writable for the guest; the guest may then hold part of the data, as on Xen.
    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool
    /// The 32-bit little-endian word at the start of `range` (nil when the range is shorter or the
    /// word is not readable). The default copies it in; an implementation may load it directly.
    mutating func read32(_ range: GuestRange) -> UInt32?
}

extension GuestMemoryAccess {
    /// Copies a checked range into a fixed-capacity buffer. nil when the range is larger than
    /// the buffer or not readable. Always inlined: the caller's constant size then picks the copy
    /// routine at compile time (GuestCopy's fixed-size ones), with no size test left at run time.
    @inline(__always)
    public mutating func read<let N: Int>(_ range: GuestRange) -> GuestBytes<N>? {
        guard Int(range.count) <= N else { return nil }
        var bytes = GuestBytes<N>(count: Int(range.count))
        let ok = bytes.withUnsafeMutableBytes { copyIn(range, to: $0.baseAddress!) }
        return ok ? bytes : nil
    }

    /// The `N` 32-bit words filling `range` (exactly N * 4 bytes), in the guest's little-endian
    /// order: one copy into registers-sized storage, no byte buffer. nil when the sizes differ or
    /// the range is not readable.
    @inline(__always)
    public mutating func readWords<let N: Int>(_ range: GuestRange) -> InlineArray<N, UInt32>? {
        guard range.count == UInt32(truncatingIfNeeded: N &* 4) else { return nil }
        var words = InlineArray<N, UInt32>(repeating: 0)
        let ok = withUnsafeMutableBytes(of: &words) { copyIn(range, to: $0.baseAddress!) }
        return ok ? words : nil
    }

    /// Checks `[va, va + count)` and copies it in: the one-step form decoders use.
    public mutating func read<let N: Int>(_ va: UInt32, count: Int = N) -> GuestBytes<N>? {
        guard count >= 0, count <= N, let range = GuestRange(va, count: UInt32(count)) else { return nil }
        return read(range)
    }

    /// Copies the first `range.count` bytes of `bytes` out to the guest. False when `bytes` holds
    /// fewer or the guest range is not writable.
    public mutating func write<let N: Int>(_ bytes: GuestBytes<N>, to range: GuestRange) -> Bool {
        guard Int(range.count) <= bytes.count else { return false }
        var copy = bytes
        return copy.withUnsafeMutableBytes { copyOut(range, from: UnsafeRawPointer($0.baseAddress!)) }
    }

    /// A 32-bit little-endian word at the start of `range`: copied straight into a word (one load
    /// and one store for the hypervisor's 4-byte copy), not rebuilt from a byte buffer.
    @inline(__always)
    public mutating func read32(_ range: GuestRange) -> UInt32? {
        guard let word = range.slice(at: 0, count: 4) else { return nil }
        var value: UInt32 = 0
        let ok = withUnsafeMutableBytes(of: &value) { copyIn(word, to: $0.baseAddress!) }
        return ok ? UInt32(littleEndian: value) : nil
    }

    /// Stores a 32-bit little-endian word at the start of `range`.
    public mutating func write32(_ value: UInt32, to range: GuestRange) -> Bool {
        guard let word = range.slice(at: 0, count: 4) else { return false }
        var bytes = GuestBytes<4>(count: 4)
        bytes.set32(0, value)
        return write(bytes, to: word)
    }
}
