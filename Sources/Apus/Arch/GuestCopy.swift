// GuestCopy.swift: the guarded copy routines of Boot/guestaccess.asm, which run under the guest's
// page tables with CR0.WP set and turn a fault into "bytes not copied". Only RunningGuestMemory may
// call them, with a GuestRange it was given: they must never see an unchecked guest address.

@_extern(c, "guest_copy_in") private func guest_copy_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32, _ count: UInt32) -> UInt32
@_extern(c, "guest_copy_out") private func guest_copy_out(_ dst: UInt32, _ src: UnsafeRawPointer, _ count: UInt32) -> UInt32

@_extern(c, "guest_copy_dword_in") private func guest_copy_dword_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32) -> UInt32
/// The guest's dword at `src` in the low half; the high half 0, or 1 when the load faulted.
@_extern(c, "guest_load_dword") private func guest_load_dword(_ src: UInt32) -> UInt64
@_extern(c, "guest_copy_dword_out") private func guest_copy_dword_out(_ dst: UInt32, _ src: UnsafeRawPointer) -> UInt32

// Fixed 8, 12 and 16 bytes, unrolled (either direction: the guest's side is a UInt32 address).
@_extern(c, "guest_copy_8") private func guest_copy_8_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32) -> UInt32
@_extern(c, "guest_copy_16") private func guest_copy_16_in(_ dst: UnsafeMutableRawPointer, _ src: UInt32) -> UInt32
@_extern(c, "guest_copy_12") private func guest_copy_12_out(_ dst: UInt32, _ src: UnsafeRawPointer) -> UInt32
@_extern(c, "guest_copy_16") private func guest_copy_16_out(_ dst: UInt32, _ src: UnsafeRawPointer) -> UInt32

// A bounce frame (12, 16, 20 or 24 bytes): one routine that jumps to the size itself.
@_extern(c, "guest_copy_frame") private func guest_copy_frame(_ dst: UInt32, _ src: UnsafeRawPointer, _ count: UInt32) -> UInt32

enum GuestCopy {
    /// True when all `count` bytes were copied from guest address `source`. Four bytes (a port, a
    /// handle, a count: the commonest request) take the one-load routine; 8 and 16 (an iret frame
    /// and its ring-3 tail) the unrolled ones.
    @inline(__always)
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: UInt32, count: UInt32) -> Bool {
        switch count {
        case 4: return guest_copy_dword_in(destination, source) == 0
        case 8: return guest_copy_8_in(destination, source) == 0
        case 16: return guest_copy_16_in(destination, source) == 0
        default: return guest_copy_in(destination, source, count) == 0
        }
    }

    /// The dword at guest address `source` (the first four bytes of a checked range), nil when it is not
    /// readable: one load into a register, the answer coming back in EDX:EAX.
    @inline(__always)
    static func load32(from source: UInt32) -> UInt32? {
        let loaded = guest_load_dword(source)
        return loaded >> 32 == 0 ? UInt32(truncatingIfNeeded: loaded) : nil
    }

    /// True when the bounce frame of `count` bytes (12, 16, 20 or 24; any other count copies nothing
    /// and is false) was copied to guest address `destination`: the size is chosen in the routine.
    @inline(__always)
    static func copyOutFrame(to destination: UInt32, from source: UnsafeRawPointer, count: UInt32) -> Bool {
        guest_copy_frame(destination, source, count) == 0
    }

    /// True when all `count` bytes were copied to guest address `destination`. 12 and 16 bytes (a
    /// bounce frame's sizes from ring 1) take the unrolled routines.
    @inline(__always)
    static func copyOut(to destination: UInt32, from source: UnsafeRawPointer, count: UInt32) -> Bool {
        switch count {
        case 4: return guest_copy_dword_out(destination, source) == 0
        case 12: return guest_copy_12_out(destination, source) == 0
        case 16: return guest_copy_16_out(destination, source) == 0
        default: return guest_copy_out(destination, source, count) == 0
        }
    }
}
