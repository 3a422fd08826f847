// GuestEntry.swift: the one way into a guest, Boot/guestaccess.asm's enter_guest: it loads the
// registers of a trap frame and irets to ring 1 or 3. It never returns; nothing here chooses
// which guest runs or what its registers hold.

import ApusCore

@_extern(c, "enter_guest") func enter_guest(_ frame: UnsafeMutableRawPointer)

enum GuestEntry {
    /// Leaves ring 0 with the registers in `frame`.
    static func enter(_ frame: UnsafeMutablePointer<TrapFrame>) -> Never {
        enter_guest(UnsafeMutableRawPointer(frame))
        haltForever()
    }
}
