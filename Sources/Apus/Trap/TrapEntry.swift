// TrapEntry.swift: the Swift entries Boot/traps.asm calls: exceptions (with and without a CPU error
// code: apus_trap_error, apus_trap), interrupts (apus_interrupt), the hypercall and iret gates
// (and EVTCHNOP_send, which the hypercall stub sends to its own entry). They
// carry their symbol names (@_silgen_name, Swift's convention: the frame's address on the stack, as
// in C), so the assembly calls them straight, without a C thunk in between.
// It only sorts a trap to its owner: hardware interrupts, exceptions, the hypercall gate.
// It must never return with the frame in a state the owner did not choose.

import ApusCore
import PVABI

/// Exceptions 0-31 the CPU pushes no error code for (the stubs know which, from the same
/// PVABI constant as ExceptionVector.pushesErrorCode): the frame size is fixed in each entry.
@_silgen_name("apus_trap")
public func apusTrap(_ rawFrame: UnsafeMutableRawPointer) {
    exception(rawFrame, hasErrorCode: false)
}

/// Exceptions 0-31 with an error code from the CPU (8, 10-14, 17, 21, 29, 30).
@_silgen_name("apus_trap_error")
public func apusTrapWithError(_ rawFrame: UnsafeMutableRawPointer) {
    exception(rawFrame, hasErrorCode: true)
}

@inline(__always)
func exception(_ rawFrame: UnsafeMutableRawPointer, hasErrorCode: Bool) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    // From a guest: the running domain is borrowed, not retained, from entry to exit.
    guard let running = Domains.running, frame.pointee.fromGuest else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    // A local function, not a closure literal: @inline(__always) makes the whole path one function.
    @inline(__always) func trapAndExit(_ d: Domain) {
        GuestFaults.handle(frame, d, hasErrorCode: hasErrorCode)
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(trapAndExit)
}

/// Vectors 32-255 (trap_common): the PIC's interrupts, whatever was running.
@_silgen_name("apus_interrupt")
public func apusInterrupt(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    guard let running = Domains.running, frame.pointee.fromGuest else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    @inline(__always) func interruptAndExit(_ d: Domain) {
        hypervisorTrap(frame)
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(interruptAndExit)
}

/// `int 0x82` (Boot/traps.asm's hypercall stub): the gate's DPL 1 lets only ring 1 in, and the
/// hypervisor never raises it, so the trap is a hypercall from the running domain's kernel.
@_silgen_name("apus_hypercall")
public func apusHypercall(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    guard let running = Domains.running else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    @inline(__always) func callAndExit(_ d: Domain) {
        Hypercalls.handle(frame, d)
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(callAndExit)
}

/// `int 0x82` with EAX = event_channel_op and EBX = EVTCHNOP_send (Boot/traps.asm's hypercall stub
/// tests both): the send, with no table between. It does what the table's case does (the same
/// decoder and checks, counters and refusal log, EAX from its answer) and leaves the same way.
@_silgen_name("apus_event_send")
public func apusEventSend(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    guard let running = Domains.running else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    @inline(__always) func sendAndExit(_ d: Domain) {
        frame.pointee.eax = UInt32(bitPattern: EventChannelHypercall.send(FrameRegisters(frame).arguments, d))
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(sendAndExit)
}

/// `int 0x82` with EAX = update_va_mapping (Boot/traps.asm's hypercall stub sends that number here
/// through its entries by number): the call with no table between. It does what the table's case
/// does (the same decoder, walk and checks, flush, refusal log, EAX from its answer) and leaves the
/// same way.
@_silgen_name("apus_update_va_mapping")
public func apusUpdateVAMapping(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    guard let running = Domains.running else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    @inline(__always) func updateAndExit(_ d: Domain) {
        MemoryHypercalls.updateVAMapping(frame, d)
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(updateAndExit)
}

/// `int 0x83` (the hypercall page's iret slot; the gate's DPL 1 lets only ring 1 in): the iret
/// hypercall, with no table between.
@_silgen_name("apus_iret")
public func apusIret(_ rawFrame: UnsafeMutableRawPointer) {
    let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
    guard let running = Domains.running else {
        hypervisorTrap(frame)
        return
    }
    Counters.guestTraps &+= 1
    @inline(__always) func iretAndExit(_ d: Domain) {
        _ = TrapHypercalls.iret(frame, d)
        Scheduler.exit(frame, d)
    }
    running._withUnsafeGuaranteedRef(iretAndExit)
}

/// Interrupts, and anything that arrived while the hypervisor itself ran (or no domain ran).
func hypervisorTrap(_ frame: UnsafeMutablePointer<TrapFrame>) {
    let vector = frame.pointee.vector
    switch vector {
    case 0..<32:
        Exceptions.handle(frame)
    case PIC.vectorBase..<(PIC.vectorBase + 16):
        Interrupts.handle(irq: Int(vector - PIC.vectorBase))
    case DescriptorTables.hypercallVector where frame.pointee.fromGuest, DescriptorTables.iretVector where frame.pointee.fromGuest:
        Panic.trap(frame, cr2: 0, reason: "hypercall while no domain runs")
    default:
        Log.info("trap: vector \(vector) from ring \(frame.pointee.ring) at eip \(hex8: frame.pointee.eip) has no owner; ignored")
    }
}

enum Interrupts {
    static var counts = InlineArray<16, UInt32>(repeating: 0)

    static func handle(irq: Int) {
        counts[irq] &+= 1
        PIC.endOfInterrupt(irq: irq)
        if irq == 0 {
            PIT.tick()
            // The slice end is noticed here, at the tick (250 us), not on every return to a guest.
            if Domains.running != nil && cpu_rdtsc() >= Scheduler.sliceEndTSC { Scheduler.preemptRequested = true }
            if !Domains.all.isEmpty { Timers.check(now: SystemTime.nanoseconds()) }
            if PhysicalIRQs.awaiting { PhysicalIRQs.tick(now: SystemTime.nanoseconds()) }
        } else if irq == 4 {
            // The UART: its transmit ring drains here; typed input is dom0's (VIRQ_CONSOLE), or debug keys.
            if Serial.interrupt(), let dom0 = Domains.byID(0) { Events.raiseVirq(dom0, Virq.console) }
            DebugKeys.answerPending()
        } else if irq != 2 {
            // A device's line: masked until the domains bound to it EOI, and an event for each.
            Counters.deviceIRQTSC = cpu_rdtsc()
            PhysicalIRQs.fire(line: irq)
        }
    }
}
