// GuestTraps.swift: the trap handling a simple domU kernel needs: the event upcall drains the
// event channels; anything else is a bug in the guest, reported on its console before it shuts
// down with reason crash. Guest images only.

import ApusCore
import PVABI

public enum GuestTraps {
    public static func standard(_ raw: UnsafeMutableRawPointer) {
        let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
        if frame.pointee.vector == 256 { GuestEvents.drain(); return }
        let f = frame.pointee
        GuestConsole(xen).print("unexpected trap: vector \(f.vector) error \(hex: f.errorCode) at \(hex8: f.eip) ring \(f.ring)")
        StartOfDay.shutdown(.crash)
    }
}
