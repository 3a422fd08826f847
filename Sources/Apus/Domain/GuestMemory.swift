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

    mutating func copyOut(_ range: GuestRange, from source: UnsafeRawPointer) -> Bool {
        range.count == 0 || GuestCopy.copyOut(to: range.start, from: source, count: range.count)
    }
}

/// Transitional: the old address-taking helpers, each now a GuestRange check and one copy.
enum GuestMemory {
    static func inGuestRange(_ va: UInt32, _ count: UInt32) -> Bool { GuestRange(va, count: count) != nil }

    static func read(_ va: UInt32, into buffer: UnsafeMutableRawPointer, count: UInt32) -> Bool {
        guard let range = GuestRange(va, count: count) else { return false }
        var m = RunningGuestMemory()
        return m.copyIn(range, to: buffer)
    }

    static func write(_ va: UInt32, from buffer: UnsafeRawPointer, count: UInt32) -> Bool {
        guard let range = GuestRange(va, count: count) else { return false }
        var m = RunningGuestMemory()
        return m.copyOut(range, from: buffer)
    }

    static func read32(_ va: UInt32) -> UInt32? {
        var v: UInt32 = 0
        return withUnsafeMutableBytes(of: &v) { read(va, into: $0.baseAddress!, count: 4) } ? v : nil
    }

    static func write32(_ va: UInt32, _ value: UInt32) -> Bool {
        var v = value
        return withUnsafeBytes(of: &v) { write(va, from: $0.baseAddress!, count: 4) }
    }

    static func readBytes(_ va: UInt32, count: Int) -> [UInt8]? {
        guard count > 0 else { return inGuestRange(va, 0) ? [] : nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { read(va, into: $0.baseAddress!, count: UInt32(count)) }
        return ok ? bytes : nil
    }

    static func writeBytes(_ va: UInt32, _ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return inGuestRange(va, 0) }
        return bytes.withUnsafeBytes { write(va, from: $0.baseAddress!, count: UInt32(bytes.count)) }
    }
}
