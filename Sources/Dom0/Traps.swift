// Traps.swift: dom0's handler for everything the hypervisor bounces to it: exceptions from its
// own ring-1 code (probes resume where they asked to), system calls from its ring-3 application
// (int 0x80), #NM after fpu_taskswitch, and the single steps the conformance scenario asks for. It records what it saw for the self-test to judge.

import ApusCore
import GuestKit
import PVABI

struct SeenTrap {
    var vector: UInt32 = 0
    var errorCode: UInt32 = 0
    var eip: UInt32 = 0
    var ring: UInt32 = 0
    var savedMask: UInt32 = 0
    var cr2: UInt32 = 0
    var count: UInt32 = 0
}

enum TrapLog {
    static var last = SeenTrap()
    static var deviceNotAvailable: UInt32 = 0
    static var userReports = InlineArray<16, UInt32>(repeating: 0)
    static var userWrites: UInt32 = 0
}

/// The conformance scenario's single-step case: while `armed`, every exception frame returns with TF clear
/// (a probe steps one instruction), and a #DB is recorded with the DR6 its handler reads (get_debugreg, as
/// Linux's do_debug), then resumed where it stopped.
enum SingleStepLog {
    static let trapFlag: UInt32 = 1 << 8
    static var armed = false
    static var steps: UInt32 = 0
    static var eip: UInt32 = 0
    static var dr6: UInt32 = 0

    static func arm() { armed = true; steps = 0; eip = 0; dr6 = 0 }
}

@_extern(c, "apus_heap_allocations") func apus_heap_allocations() -> UInt32

/// EBP's value while a ring-3 probe (conformance.asm) wants its fault reported instead of handled.
let userFaultMark: UInt32 = 0x600D_F00D

@_cdecl("guest_trap_dispatch")
public func guestTrapDispatch(_ raw: UnsafeMutableRawPointer) {
    let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
    let vector = frame.pointee.vector
    switch vector {
    case 0x80:
        SystemCalls.handle(frame)
        return
    case 7:
        // #NM after fpu_taskswitch(1): like clts on native, then retry the instruction.
        TrapLog.deviceNotAvailable &+= 1
        _ = xen.fpuTaskswitch(false)
        return
    case 256:
        // The upcall can interrupt the main loop inside malloc or free (Boot/heap.c is not
        // reentrant): a handler that allocates corrupts the heap only when the timing is unlucky,
        // so any allocation here stops dom0 at once, every time, naming the cause.
        let allocations = apus_heap_allocations()
        GuestEvents.drain()
        let made = apus_heap_allocations() &- allocations
        if made != 0 {
            console.print("event upcall: a handler made \(made) heap allocations (the heap is not reentrant; upcalls must not allocate)")
            Kernel.shutdown(.crash)
        }
        return
    default:
        break
    }
    if SingleStepLog.armed && vector < 32 {
        frame.pointee.eflags &= ~SingleStepLog.trapFlag
        if vector == 1 {
            SingleStepLog.steps &+= 1
            SingleStepLog.eip = frame.pointee.eip
            SingleStepLog.dr6 = UInt32(bitPattern: xen.raw(Hypercall.getDebugreg.rawValue, 6))
            return
        }
    }
    var seen = SeenTrap()
    seen.vector = vector
    seen.errorCode = frame.pointee.errorCode
    seen.eip = frame.pointee.eip
    seen.ring = frame.pointee.ring
    seen.savedMask = frame.pointee.savedUpcallMask
    seen.cr2 = vector == 14 ? Kernel.sharedInfo.cr2 : 0
    seen.count = TrapLog.last.count &+ 1
    TrapLog.last = seen

    if seen.ring == 3 && frame.pointee.ebp == userFaultMark {
        // A ring-3 probe of the conformance scenario armed the marker: resume it at EDI with what we saw.
        frame.pointee.eax = 0xDEAD_0000 | (vector & 0xFF) << 8 | (seen.errorCode & 0xFF)
        frame.pointee.eip = frame.pointee.edi
        frame.pointee.ebp = 0
        return
    }
    if seen.ring == 3 && vector == 13 {
        // The application tried something ring 3 may not (int 0x82): refuse, skip the
        // two-byte int instruction, and tell it through eax.
        frame.pointee.eax = 0xDEAD_0000 | seen.errorCode
        frame.pointee.eip &+= 2
        return
    }
    let resume = guest_take_resume()
    if resume != 0 {
        frame.pointee.eip = resume
        return
    }
    console.print("unexpected trap: vector \(vector) error \(hex: seen.errorCode) at \(hex8: seen.eip) ring \(seen.ring) cr2 \(hex8: seen.cr2)")
    Kernel.shutdown(.crash)
}

@_cdecl("guest_failsafe")
public func guestFailsafe(_ frame: UnsafeMutableRawPointer) {
    let words = frame.assumingMemoryBound(to: UInt32.self)
    console.print("failsafe callback: the hypervisor could not restore ds \(hex: words[0]) es \(hex: words[1]) fs \(hex: words[2]) gs \(hex: words[3]) at eip \(hex8: words[4])")
    Kernel.shutdown(.crash)
}

/// The ring-3 application's system calls: eax = number, ebx/ecx = arguments, result in eax.
enum SystemCalls {
    static func handle(_ frame: UnsafeMutablePointer<GuestTrapFrame>) {
        let f = frame.pointee
        switch f.eax {
        case 1:   // write(text, length): user memory, read through the same flat segments
            let count = min(Int(f.ecx), 160)
            let text = UnsafeBufferPointer(start: UnsafePointer<UInt8>(bitPattern: UInt(f.ebx)), count: count)
            console.print("user: \(text: text)")
            TrapLog.userWrites &+= 1
            frame.pointee.eax = UInt32(count)
        case 2:   // getpid()
            frame.pointee.eax = 1
        case 3:   // exit(status)
            guest_leave_user(f.ebx)
        case 5:   // noop (make bench)
            frame.pointee.eax = 0
        case 4:   // report(key, value)
            if f.ebx < 16 { TrapLog.userReports[Int(f.ebx)] = f.ecx }
            frame.pointee.eax = 0
        default:
            frame.pointee.eax = UInt32(bitPattern: -38)   // ENOSYS
        }
    }
}
