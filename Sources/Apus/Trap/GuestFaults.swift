// GuestFaults.swift: exceptions taken while a guest ran. Most are bounced to the guest's own
// handler with Xen's bounce frame; #UD may be the forced-emulation cpuid; #GP a guest's port I/O, cli/sti or
// a domU's control-register move (emulated as Xen does); #NM loads the domain's FPU registers and ends
// a virtual CR0.TS; a guest with no handler, or whose stack cannot take the frame, is crashed alone with
// the reason logged. Nothing here may ever end in a hypervisor panic.

import ApusCore
import PVABI

enum GuestFaults {
    /// The vectors something is tried for before a bounce: #DB (DR6 becomes the guest's), #UD (the
    /// forced-emulation cpuid), #NM (the FPU), #GP (emulation, and the software-interrupt decision)
    /// and #PF (writable page tables, CR2). One bit test sends every other vector to `bounce`.
    static let specialVectors: UInt32 = 1 << 1 | 1 << 6 | 1 << 7 | 1 << 13 | 1 << 14

    /// `frame.vector` is below 32 (an exception); `hasErrorCode` is whether the CPU pushed one
    /// for it (ExceptionVector.pushesErrorCode), fixed by the stub that called.
    @inline(__always)      // into the trap entry: a bounce is one function from entry to exit
    static func handle(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, hasErrorCode: Bool) {
        let vector = frame.pointee.vector & 31
        if (specialVectors >> vector) & 1 != 0 {
            if vector == 14 {
                let cr2 = cpu_read_cr2()
                if WritablePageTables.tryEmulate(frame, d, cr2: cr2) { return }
                d.setCR2(cr2)
            } else if handleSpecial(frame, d, vector: vector) {
                return
            }
        }
        bounce(frame, d, vector: vector, hasErrorCode: hasErrorCode)
    }

    /// #DB, #UD, #NM and #GP, out of the common path. True when the trap is dealt with (emulated, or
    /// delivered as TrapBounce.decide says: #GP); false when it goes on to the plain bounce.
    @inline(never)
    static func handleSpecial(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, vector: UInt32) -> Bool {
        switch vector {
        case 1:
            DebugRegisters.guestTrap(d)      // DR6 becomes the guest's before the bounce
            return false
        case 6:
            switch CPUIDEmulation.tryEmulate(frame, d) {
            case .notForced: return false
            case .answered: return true
            case .faulted:
                frame.pointee.errorCode = 0
                deliverGeneralProtection(frame, d)
                return true
            }
        case 7:
            // #NM: the domain's first FPU use since it got the CPU (its registers are loaded now),
            // and, when it had set its virtual CR0.TS itself (fpu_taskswitch), its own #NM as well.
            FPU.take(d)
            if !d.vcpu.taskSwitched { return true }
            d.vcpu.taskSwitched = false
            return false
        default:
            if PrivilegedEmulation.tryEmulate(frame, d) { return true }
            if FourGBSegmentFixups.tryFixup(frame, d) { return true }
            deliverGeneralProtection(frame, d)
            return true
        }
    }

    /// A vector whose delivery its own trap-table entry decides (every one but #GP, which
    /// `handleSpecial` takes: TrapBounce.isDecidedByItsEntry): its handler, with the CPU's error code
    /// when the vector has one; none registered crashes the guest.
    @inline(__always)
    static func bounce(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, vector: UInt32, hasErrorCode: Bool) {
        guard d.vcpu.trapTable[Int(vector)].hasHandler else { crashFor(frame, d, vector: vector) }
        enter(frame, d, hasErrorCode: hasErrorCode, eipAdvance: 0, what: "exception") {
            handler(d.vcpu.trapTable[Int(vector)])
        }
    }

    /// #GP that was not emulated: TrapBounce.decide tells a refused or allowed `int n` (its error
    /// code names an IDT entry) from a #GP of the guest's own.
    @inline(never)
    static func deliverGeneralProtection(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        let decision = TrapBounce.decide(vector: TrapBounce.generalProtectionVector, errorCode: frame.pointee.errorCode,
                                         interruptedRing: frame.pointee.ring) { d.vcpu.trapTable[Int($0)] }
        // Every delivery carries the frame's own error code or none: the #GP of a refused `int n`
        // is the CPU's (decide passes it through), a software interrupt has none.
        let target: UInt8, withError: Bool, advance: UInt32
        switch decision {
        case .bounce(let v, let error):
            target = v; withError = error != nil; advance = 0
        case .softwareInterrupt(let v):
            target = v; withError = false; advance = TrapBounce.softwareInterruptLength
        case .generalProtection:
            target = TrapBounce.generalProtectionVector; withError = true; advance = 0
        case .noHandler(let v):
            crashFor(frame, d, vector: UInt32(v))
        }
        deliver(frame, d, vector: target, hasErrorCode: withError, eipAdvance: advance)
    }

    /// Builds the bounce frame on the guest kernel stack and points the frame at the handler.
    @inline(__always)
    static func deliver(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, vector: UInt8, hasErrorCode: Bool, eipAdvance: UInt32) {
        enter(frame, d, hasErrorCode: hasErrorCode, eipAdvance: eipAdvance, what: "exception") { handler(d.vcpu.trapTable[Int(vector)]) }
    }

    /// What `enter` needs of a trap-table entry.
    @inline(__always)
    static func handler(_ entry: TrapInfo) -> (cs: UInt32, eip: UInt32, masksEvents: Bool) {
        (UInt32(entry.cs), entry.address, entry.masksEvents)
    }

    /// Enters a guest handler or callback with the Xen frame for the interrupted context, built in
    /// place in the trap frame (InPlaceBounce) with the frame's error code when `hasErrorCode`.
    /// `handler` names the entry (cs, address, whether it masks events); it is read after the frame
    /// is written, where it lives, so that nothing of it is held across the copy.
    @inline(__always)
    static func enter(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, hasErrorCode: Bool, eipAdvance: UInt32,
                      what: StaticString, handler: () -> (cs: UInt32, eip: UInt32, masksEvents: Bool)) {
        let switches = BounceFrame.switchesStack(interruptedRing: frame.pointee.ring)
        let kernelESP = d.vcpu.kernelESP
        if switches && kernelESP == 0 {
            crash(d, "trap from ring 3 but the guest never registered a kernel stack (stack_switch)")
        }
        let top = switches ? kernelESP : frame.pointee.esp
        let mask = d.vcpuInfo.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self)
        let slots = InPlaceBounce.build(&frame.pointee, hasErrorCode: hasErrorCode, eipAdvance: eipAdvance, savedUpcallMask: mask)
        var memory = RunningGuestMemory()
        guard let placed = InPlaceBounce.place(count: slots.count, below: top),
              memory.copyOutFrame(placed, from: UnsafeRawPointer(frame) + slots.offset) else {
            cannotWrite(frame, d, at: top &- slots.count, what: what)
        }
        // From here on the frame's own slots say what the context was: its CS slot keeps the
        // interrupted ring and carries the saved mask, and its EFLAGS slot differs from the
        // interrupted flags only in IF, which the handler's flags set anyway (InPlaceBounceTests).
        let entry = handler()
        let saved = BounceFrame.savedUpcallMask(csSlot: frame.pointee.cs)
        d.vcpuInfo.storeBytes(of: BounceFrame.upcallMaskOnEntry(saved: saved, masksEvents: entry.masksEvents),
                              toByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self)
        if BounceFrame.switchesStack(interruptedRing: frame.pointee.ring) { frame.pointee.ss = d.vcpu.kernelSS }
        frame.pointee.eip = entry.eip
        frame.pointee.cs = entry.cs
        frame.pointee.esp = placed.start
        frame.pointee.eflags = BounceFrame.handlerEFLAGS(interrupted: frame.pointee.eflags)
    }

    /// The callback form (Events.inject's upcall): a callback frame never carries an error code.
    @inline(__always)
    static func enter(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, cs: UInt32, eip: UInt32, errorCode: Never?,
                      eipAdvance: UInt32, masksEvents: Bool, what: StaticString) {
        enter(frame, d, hasErrorCode: false, eipAdvance: eipAdvance, what: what) { (cs, eip, masksEvents) }
    }

    /// The bounce frame did not fit or could not be written: the guest is crashed with the reason.
    /// (The frame's EIP is the interrupted one, advanced past an `int n`.)
    @inline(never)
    static func cannotWrite(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, at: UInt32, what: StaticString) -> Never {
        Log.guestWarning("d\(d.id): cannot write the \(what) frame at \(hex8: at) (vector \(frame.pointee.vector), eip \(hex8: frame.pointee.eip))")
        crash(d, "fault while building a bounce frame on the guest kernel stack")
    }

    /// (The CR2 logged is the one a page fault left in the guest's vcpu_info; 0 for other vectors.)
    @inline(never)
    static func crashFor(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, vector: UInt32) -> Never {
        let f = frame.pointee
        let cr2 = vector == 14 ? d.vcpuInfo.load(fromByteOffset: VcpuInfo.cr2Offset, as: UInt32.self) : 0
        Log.guestWarning("d\(d.id): \(ExceptionName.mnemonic(vector)) (vector \(vector), error \(hex: f.errorCode)) at eip \(hex8: f.eip) in ring \(f.ring), cr2 \(hex8: cr2)")
        crash(d, "exception with no handler registered in the guest's trap table")
    }

    /// Crashes the domain alone: the reason goes to the log and the scheduler runs whoever is left.
    static func crash(_ d: Domain, _ reason: StaticString) -> Never {
        Log.guestWarning("d\(d.id) crashed: \(reason)")
        DomainLife.stop(d, .crashed)
    }
}

/// A fault on the very last step back into a guest (loading its segment registers, or the
/// iret itself) means the guest left something the CPU refuses. As on Xen, the guest's failsafe
/// callback gets the selectors that would not load, with null ones in their place; a guest
/// without one, or whose stack cannot take the frame, is crashed.
@_cdecl("apus_guest_return_failed")
public func apusGuestReturnFailed(_ raw: UnsafeMutableRawPointer) {
    let frame = raw.assumingMemoryBound(to: TrapFrame.self)
    guard let d = Domains.current else { Panic.halt("a return to a guest faulted while no guest runs") }
    let f = frame.pointee
    Log.guestWarning("d\(d.id): cannot return to eip \(hex8: f.eip) cs \(hex: f.cs & 0xFFFF) ss \(hex: f.ss & 0xFFFF) ds \(hex: f.ds & 0xFFFF) es \(hex: f.es & 0xFFFF) fs \(hex: f.fs & 0xFFFF) gs \(hex: f.gs & 0xFFFF)")
    guard d.vcpu.failsafeCallback.isSet, f.ring != 0 else {
        GuestFaults.crash(d, "the CPU refused the guest's segment registers or iret frame on return, and no failsafe callback is registered")
    }
    let ring = f.ring
    let target = BounceFrame.stack(interruptedRing: ring, interruptedESP: f.esp, interruptedSS: f.ss,
                                   kernelSS: d.vcpu.kernelSS, kernelESP: d.vcpu.kernelESP)
    let mask = d.upcallMask
    var words = BounceFrame.failsafeWords(eip: f.eip, cs: f.cs & 0xFFFF, eflags: f.eflags, interruptedRing: ring,
                                          interruptedESP: f.esp, interruptedSS: f.ss, savedUpcallMask: mask,
                                          ds: f.ds, es: f.es, fs: f.fs, gs: f.gs)
    var memory = RunningGuestMemory()
    guard let placed = BounceFrame.place(words, below: target.esp), words.withBytes({ memory.copyOut(placed, from: $0) }) else {
        GuestFaults.crash(d, "fault while building the failsafe callback frame on the guest kernel stack")
    }
    let newESP = placed.start
    Log.guestWarning("d\(d.id): entering its failsafe callback at \(hex8: d.vcpu.failsafeCallback.eip)")
    d.upcallMask = 1
    frame.pointee.ds = 0; frame.pointee.es = 0; frame.pointee.fs = 0; frame.pointee.gs = 0
    frame.pointee.eip = d.vcpu.failsafeCallback.eip
    frame.pointee.cs = d.vcpu.failsafeCallback.cs
    frame.pointee.esp = newESP
    frame.pointee.ss = target.ss
    frame.pointee.eflags = BounceFrame.handlerEFLAGS(interrupted: f.eflags)
    GuestEntry.enter(frame)
}
