// GuestMemoryWrites.swift: the field-sized writes the acting halves of hypercalls use on ranges their
// decoders produced (u16, u64, a caller's byte buffer). Additions to GuestMemoryAccess in the same
// spirit: they take only checked GuestRanges and must never compute a guest address.

extension GuestMemoryAccess {
    /// Stores a 16-bit little-endian value at the start of `range`.
    public mutating func write16(_ value: UInt16, to range: GuestRange) -> Bool {
        guard let field = range.slice(at: 0, count: 2) else { return false }
        var bytes = GuestBytes<2>(count: 2)
        bytes.set16(0, value)
        return write(bytes, to: field)
    }

    /// Stores a 64-bit little-endian value at the start of `range`.
    public mutating func write64(_ value: UInt64, to range: GuestRange) -> Bool {
        guard let field = range.slice(at: 0, count: 8) else { return false }
        var bytes = GuestBytes<8>(count: 8)
        bytes.set64(0, value)
        return write(bytes, to: field)
    }

    /// Copies all of `source` to the start of `range`. False when `range` is shorter than
    /// `source` or not writable. An empty source writes nothing and succeeds.
    public mutating func write(_ source: UnsafeRawBufferPointer, to range: GuestRange) -> Bool {
        // Int is 32 bits in the hypervisor: compare as UInt64, never through Int(UInt32.max).
        guard UInt64(source.count) <= UInt64(range.count),
              let head = range.slice(at: 0, count: UInt32(truncatingIfNeeded: source.count)) else { return false }
        guard let base = source.baseAddress, source.count > 0 else { return true }
        return copyOut(head, from: base)
    }

    /// Copies all of `range` into a fresh array (for the few consumers that keep bytes past the
    /// hypercall, such as a new domain's command line). nil when not readable.
    public mutating func readArray(_ range: GuestRange) -> [UInt8]? {
        guard range.count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(range.count))
        let ok = bytes.withUnsafeMutableBytes { copyIn(range, to: $0.baseAddress!) }
        return ok ? bytes : nil
    }
}

/// A field of a checked structure, by its PVABI offset and width: the one way decoders hand the
/// acting half an OUT location. nil only if the layout does not fit the structure (a layout bug).
extension GuestRange {
    public func field(_ offset: Int, _ width: Int) -> GuestRange? {
        guard offset >= 0, width >= 0 else { return nil }
        return slice(at: UInt32(truncatingIfNeeded: offset), count: UInt32(truncatingIfNeeded: width))
    }
}
