// PhysicalInterrupts.swift: dom0's side of a device's interrupt line, the way a Xen PV kernel has
// it: physdev_op map_pirq (the line becomes a pirq), EVTCHNOP_bind_pirq (the pirq raises an event
// channel), irq_status_query, and physdev_op eoi once the driver has served the device, which lets
// the hypervisor unmask the line. It dispatches a pirq's event to its driver; it decides nothing.

import ApusCore
import GuestKit
import PVABI

enum PhysicalInterrupts {
    /// The driver's handler for each bound port (called from the event upcall, events masked).
    static var handlers: [(port: UInt32, handle: () -> Void)] = []

    /// map_pirq for GSI `line`: the pirq, or a negative errno.
    static func map(line: UInt32, domain: UInt16 = SpecialDomainID.selfID, pirq: UInt32 = PhysdevMapPirqLayout.anyPirq) -> Int32 {
        var r = HypercallRecord(stride: PhysdevMapPirqLayout.size)
        r.set(domain, at: PhysdevMapPirqLayout.domidOffset)
        r.set(PhysdevMapPirqLayout.typeGSI, at: PhysdevMapPirqLayout.typeOffset)
        r.set(line, at: PhysdevMapPirqLayout.indexOffset)
        r.set(pirq, at: PhysdevMapPirqLayout.pirqOffset)
        let rc = r.withAddress { xen.physdevOp(.mapPirq, $0) }
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: PhysdevMapPirqLayout.pirqOffset)) : rc
    }

    /// unmap_pirq: 0 or a negative errno.
    static func unmap(pirq: UInt32, domain: UInt16 = SpecialDomainID.selfID) -> Int32 {
        var r = HypercallRecord(stride: 8)
        r.set(domain, at: PhysdevUnmapPirqLayout.domidOffset)
        r.set(pirq, at: PhysdevUnmapPirqLayout.pirqOffset)
        return r.withAddress { xen.physdevOp(.unmapPirq, $0) }
    }

    /// EVTCHNOP_bind_pirq (sharing allowed): the port, or a negative errno.
    static func bind(pirq: UInt32, share: Bool = true) -> Int32 {
        var r = HypercallRecord(stride: EvtchnBindPirqLayout.size)
        r.set(pirq, at: EvtchnBindPirqLayout.pirqOffset)
        r.set(share ? EvtchnBindPirqLayout.flagWillShare : 0, at: EvtchnBindPirqLayout.flagsOffset)
        let rc = r.withAddress { xen.eventChannelOp(EventChannelOp.bindPirq.rawValue, $0) }
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: EvtchnBindPirqLayout.portOffset)) : rc
    }

    /// irq_status_query: the XENIRQSTAT_* flags, or a negative errno.
    static func status(pirq: UInt32) -> Int32 {
        var r = HypercallRecord(stride: 8)
        r.set(pirq, at: PhysdevLayout.statusIRQOffset)
        let rc = r.withAddress { xen.physdevOp(.irqStatusQuery, $0) }
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: PhysdevLayout.statusFlagsOffset)) : rc
    }

    /// physdev_op eoi: 0 or a negative errno. Drivers call it from the event upcall, which can land
    /// in the middle of the main loop's malloc or free: so its argument (struct physdev_eoi, one u32)
    /// is a word on the stack, never a heap record (heap.c is not reentrant; an allocation here
    /// corrupted dom0's heap under HTTP load). Traps.swift checks that an upcall allocates nothing.
    static func eoi(pirq: UInt32) -> Int32 {
        var record = pirq
        return withUnsafeMutablePointer(to: &record) {
            xen.physdevOp(.eoi, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
    }

    /// Maps `line`, binds it, and routes its events to `handler`: the (pirq, port), or nil with the
    /// reason printed.
    static func attach(line: UInt32, name: StaticString, handler: @escaping () -> Void) -> (pirq: UInt32, port: UInt32)? {
        let pirq = map(line: line)
        guard pirq >= 0 else { console.print("\(name): map_pirq of line \(line) failed with \(pirq)"); return nil }
        let port = bind(pirq: UInt32(pirq))
        guard port > 0 else { console.print("\(name): bind_pirq of pirq \(pirq) failed with \(port)"); return nil }
        handlers.append((UInt32(port), handler))
        return (UInt32(pirq), UInt32(port))
    }

    /// From the event upcall: runs the handler of `port`; false when it is no device's.
    static func dispatch(_ port: UInt32) -> Bool {
        for h in handlers where h.port == port { h.handle(); return true }
        return false
    }
}
