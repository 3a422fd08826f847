// TrapEntry.swift: the one Swift entry for every vector (Boot/traps.asm calls apus_trap).
// It only sorts a trap to its owner: hardware interrupts, exceptions, the hypercall gate.
// It must never return with the frame in a state the owner did not choose.

import ApusCore
import PVABI

@_cdecl("apus_trap")
public func apusTrap(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    let vector = frame.pointee.vector
    if frame.pointee.fromGuest { Counters.guestTraps &+= 1 }
    switch vector {
    case 0..<32:
        if frame.pointee.fromGuest, let d = Domains.current {
            if vector == 1 { DebugRegisters.guestTrap(d) }      // DR6 becomes the guest's before the bounce
            GuestFaults.handle(frame, d, cr2: vector == 14 ? cpu_read_cr2() : 0)
        } else {
            Exceptions.handle(frame)
        }
    case PIC.vectorBase..<(PIC.vectorBase + 16):
        Interrupts.handle(irq: Int(vector - PIC.vectorBase))
    case DescriptorTables.hypercallVector where frame.pointee.fromGuest:
        guard let d = Domains.current else { Panic.trap(frame, cr2: 0, reason: "hypercall while no domain runs") }
        Hypercalls.handle(frame, d)
    default:
        Log.info("trap: vector \(vector) from ring \(frame.pointee.ring) at eip \(hex8: frame.pointee.eip) has no owner; ignored")
    }
    if frame.pointee.fromGuest { Scheduler.exit(frame) }
}

enum Interrupts {
    static var counts = InlineArray<16, UInt32>(repeating: 0)

    static func handle(irq: Int) {
        counts[irq] &+= 1
        PIC.endOfInterrupt(irq: irq)
        if irq == 0 {
            PIT.tick()
            if !Domains.all.isEmpty { Timers.check(now: SystemTime.nanoseconds()) }
        } else if irq == 4 {
            // The UART: its transmit ring drains here; typed input is dom0's (VIRQ_CONSOLE).
            if Serial.interrupt(), let dom0 = Domains.byID(0) { Events.raiseVirq(dom0, Virq.console) }
        }
    }
}
