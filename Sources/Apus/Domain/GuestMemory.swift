// GuestMemory.swift: the hypervisor's side of ApusCore's GuestMemoryAccess: copies between a checked
// GuestRange and hypervisor storage under the running guest's own page tables (CR0.WP set, so the
// guest's access rights apply), a fault becoming `false`. It must never take an unchecked address.

import ApusCore
import PVABI

/// The memory of the guest whose page tables are loaded (the caller of the hypercall).
struct RunningGuestMemory: GuestMemoryAccess {
    mutating func copyIn(_ range: GuestRange, to destination: UnsafeMutableRawPointer) -> Bool {
        range.count == 0 || GuestCopy.copyIn(destination, from: range.start, count: range.count)
    }

    /// read32's answer, loaded into a register by the guarded routine rather than copied through a
    /// buffer: the word at the start of `range` (at least 4 bytes), nil when it is not readable.
    @inline(__always)
    func load32(_ range: GuestRange) -> UInt32? {
        guard let word = range.slice(at: 0, count: 4), let value = GuestCopy.load32(from: word.start) else { return nil }
        return UInt32(littleEndian: value)
    }

    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        range.count == 0 || GuestCopy.copyOut(to: range.start, from: source, count: range.count)
    }

    /// copyOut for a bounce frame (InPlaceBounce: 12, 16, 20 or 24 bytes), with no choice of routine
    /// by size in the caller; false for any other size.
    @inline(__always)
    mutating func copyOutFrame(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        GuestCopy.copyOutFrame(to: range.start, from: source, count: range.count)
    }
}
