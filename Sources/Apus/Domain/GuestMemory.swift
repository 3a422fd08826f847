// GuestMemory.swift: copies to and from the running guest's virtual memory for hypercalls.
// Every range is checked to lie below HYPERVISOR_VIRT_START first; the copy itself runs under the
// guest's page tables and turns a fault into -EFAULT. It must never dereference a guest pointer
// any other way.

import ApusCore
import PVABI

@_extern(c, "guest_copy_in") func guest_copy_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32, _ count: UInt32) -> UInt32
@_extern(c, "guest_copy_out") func guest_copy_out(_ dst: UInt32, _ src: UnsafeRawPointer, _ count: UInt32) -> UInt32

enum GuestMemory {
    /// Is [va, va + count) entirely guest address space?
    static func inGuestRange(_ va: UInt32, _ count: UInt32) -> Bool {
        let (end, overflow) = va.addingReportingOverflow(count)
        return !overflow && end <= XenLayout.hypervisorVirtStart
    }

    static func read(_ va: UInt32, into buffer: UnsafeMutableRawPointer, count: UInt32) -> Bool {
        guard inGuestRange(va, count) else { return false }
        return count == 0 || guest_copy_in(buffer, va, count) == 0
    }

    static func write(_ va: UInt32, from buffer: UnsafeRawPointer, count: UInt32) -> Bool {
        guard inGuestRange(va, count) else { return false }
        return count == 0 || guest_copy_out(va, buffer, count) == 0
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
