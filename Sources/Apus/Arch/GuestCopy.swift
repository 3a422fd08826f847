// GuestCopy.swift: the guarded copy routines of Boot/guestaccess.asm, which run under the guest's
// page tables with CR0.WP set and turn a fault into "bytes not copied". Only RunningGuestMemory may
// call them, with a GuestRange it was given: they must never see an unchecked guest address.

@_extern(c, "guest_copy_in") private func guest_copy_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32, _ count: UInt32) -> UInt32
@_extern(c, "guest_copy_out") private func guest_copy_out(_ dst: UInt32, _ src: UnsafeRawPointer, _ count: UInt32) -> UInt32

enum GuestCopy {
    /// True when all `count` bytes were copied from guest address `source`.
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: UInt32, count: UInt32) -> Bool {
        guest_copy_in(destination, source, count) == 0
    }

    /// True when all `count` bytes were copied to guest address `destination`.
    static func copyOut(to destination: UInt32, from source: UnsafeRawPointer, count: UInt32) -> Bool {
        guest_copy_out(destination, source, count) == 0
    }
}
