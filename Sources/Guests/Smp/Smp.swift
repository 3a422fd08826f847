// Smp.swift: a domU with several vCPUs (vcpus = 4). vCPU 0 first checks the refusals of vcpu_op
// (up before initialise, a vCPU that does not exist, a context whose cr3 or GDT cannot be taken,
// initialise twice), then starts vCPUs 1-3 with VCPUOP_initialise (each its own stack; vCPU 1 its own
// address space and GDT, SmpAddressSpace) and VCPUOP_up. vCPUs
// 0-2 each bind an IPI port and pass a token around 1000 times in order over those ports, waiting
// with SCHEDOP_poll; vCPU 3 spins the whole time (a spinning sibling must not starve the ring).
// After the ring every vCPU spins, so dom0 can compare the domain's CPU share with a spinner's;
// then vCPUs 1-3 block and vCPU 0 spins alone (SmpActiveShare), and dom0 compares them again.
// It must never fake a result: every line it prints comes from a hypercall's answer or the ring.

import ApusCore
import GuestKit
import PVABI

enum Smp {
    static let vcpus = 4
    static let ringVCPUs: UInt32 = 3
    static let rounds: UInt32 = 1000
    /// Each ring vCPU's IPI port (bound by itself), 0 until bound; and each vCPU's spin count. Plain
    /// memory set up by vCPU 0 before the others start: no vCPU touches the heap once they run (the
    /// allocator and reference counts are not safe against a vCPU preempted half-way).
    static var ports: UnsafeMutablePointer<UInt32> = UnsafeMutablePointer(bitPattern: 0x1000)!
    static var spins: UnsafeMutablePointer<UInt64> = UnsafeMutablePointer(bitPattern: 0x1000)!
    /// Hops made so far: the token is with vCPU hop % 3.
    static var hop: UInt32 = 0
    static var outOfOrder: UInt32 = 0
    static var done = false
    static var started: UInt32 = 0

    @inline(never) static func spin(_ vcpu: Int) {
        spins[vcpu] &+= 1
        if vcpu != 0 && SmpActiveShare.blockNow { SmpActiveShare.block(vcpu) }
    }

    /// Binds an IPI port notifying `vcpu` (the caller).
    static func bindIPI(_ vcpu: UInt32) -> Int32 {
        // struct evtchn_bind_ipi on the stack: [vcpu, port].
        var record: (UInt32, UInt32) = (vcpu, 0)
        precondition(EvtchnBindIPILayout.vcpuOffset == 0 && EvtchnBindIPILayout.portOffset == 4)
        let rc = withUnsafeMutablePointer(to: &record) {
            xen.eventChannelOp(EventChannelOp.bindIPI.rawValue, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
        return rc == 0 ? Int32(bitPattern: record.1) : rc
    }

    /// Waits (SCHEDOP_poll) until `port` is pending for `vcpu`, and clears it.
    static func wait(_ vcpu: UInt32, _ port: UInt32) {
        let si = StartOfDay.sharedInfo.base
        let info = SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu))
        let pending = si.advanced(by: SharedInfo.evtchnPendingOffset).assumingMemoryBound(to: UInt32.self)
        var list = port
        precondition(SchedPollLayout.portsOffset == 0 && SchedPollLayout.nrPortsOffset == 4 && SchedPollLayout.size == 16)
        while true {
            // Its own upcall flag and selector cleared first: the next event for it raises them again.
            si.storeBytes(of: 0, toByteOffset: info + VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
            _ = guest_xchg32(si.advanced(by: info + VcpuInfo.evtchnPendingSelOffset).assumingMemoryBound(to: UInt32.self), 0)
            if guest_test_and_clear_bit(pending.advanced(by: Int(port / 32)), port % 32) != 0 { return }
            // struct sched_poll on the stack: [ports, nr_ports, timeout (u64, 0: none)].
            withUnsafeMutablePointer(to: &list) { p in
                var poll: (UInt32, UInt32, UInt32, UInt32) = (UInt32(truncatingIfNeeded: UInt(bitPattern: p)), 1, 0, 0)
                _ = withUnsafeMutablePointer(to: &poll) { xen.schedOp(.poll, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
            }
        }
    }

    /// The ring, run by vCPUs 0-2: wait for the token, check it is this vCPU's turn, pass it on.
    static func ring(_ vcpu: UInt32) {
        let console = GuestConsole(xen)
        let next = Int((vcpu + 1) % ringVCPUs)
        while true {
            if vcpu == 0 && hop == 0 {
                // vCPU 0 starts the first round without waiting.
            } else {
                wait(vcpu, ports[Int(vcpu)])
            }
            if done { return }
            if hop % ringVCPUs != vcpu { outOfOrder &+= 1 }
            if vcpu == 0 && hop > 0 && hop % (ringVCPUs * 250) == 0 {
                console.print("smp: ipi ring: \(hop / ringVCPUs) rounds, vCPU 3 has spun \(spins[3]) times")
            }
            if vcpu == 0 && hop == ringVCPUs * rounds {
                if outOfOrder == 0 {
                    console.print("ipi ring: \(rounds) rounds in order")
                } else {
                    console.print("ipi ring: \(outOfOrder) hops out of order")
                }
                done = true
                _ = GuestEvents.send(ports[1])
                _ = GuestEvents.send(ports[2])
                return
            }
            hop &+= 1
            _ = GuestEvents.send(ports[next])
        }
    }

    /// A vcpu_guest_context for vCPU `vcpu`: start at `entry` with its own stack, the same trap
    /// handlers, callbacks and address space as vCPU 0. `cr3Frame`: the top-level table to name.
    static func context(vcpu: UInt32, entry: UInt32, stackTop: UInt32, trapStackTop: UInt32, cr3Frame: UInt32) -> [UInt8] {
        var c = [UInt8](repeating: 0, count: VcpuGuestContextLayout.size)
        func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { c[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        func put16(_ o: Int, _ v: UInt16) { c[o] = UInt8(truncatingIfNeeded: v); c[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
        typealias L = VcpuGuestContextLayout
        typealias R = CpuUserRegsLayout
        let r = L.userRegsOffset
        // cdecl: [esp] a return address (none), [esp+4] the vCPU number; esp+4 16-byte aligned.
        let esp = stackTop - 20
        let frame = UnsafeMutablePointer<UInt32>(bitPattern: UInt(esp))!
        frame[0] = 0            // no return address: smp_secondary never returns
        frame[1] = vcpu
        put32(r + R.eip, entry)
        put16(r + R.cs, Selector.flatRing1CS)
        put32(r + R.eflags, 0x202)
        put32(r + R.esp, esp)
        put16(r + R.ss, Selector.flatRing1SS)
        for seg in [R.ds, R.es, R.fs, R.gs] { put16(r + seg, Selector.flatRing1DS) }
        // The trap table StartOfDay installs on vCPU 0, entry by entry at its vector.
        for vector in 0..<20 where vector != 2 && vector != 9 && vector != 15 {
            let o = L.trapCtxtOffset + vector * TrapInfoLayout.size
            c[o + TrapInfoLayout.vectorOffset] = UInt8(vector)
            c[o + TrapInfoLayout.flagsOffset] = (vector == 3 || vector == 4) ? 3 : 0
            put16(o + TrapInfoLayout.csOffset, Selector.flatRing1CS)
            put32(o + TrapInfoLayout.addressOffset, guest_trap_stub_address(UInt32(vector)))
        }
        let o = L.trapCtxtOffset + 0x80 * TrapInfoLayout.size
        c[o + TrapInfoLayout.vectorOffset] = 0x80
        c[o + TrapInfoLayout.flagsOffset] = 3
        put16(o + TrapInfoLayout.csOffset, Selector.flatRing1CS)
        put32(o + TrapInfoLayout.addressOffset, guest_trap_stub_address(0x80))
        put32(L.kernelSSOffset, UInt32(Selector.flatRing1DS))
        put32(L.kernelSPOffset, trapStackTop)
        put32(L.ctrlregOffset + 3 * 4, L.cr3(ofFrame: cr3Frame))
        put32(L.eventCallbackCSOffset, UInt32(Selector.flatRing1CS))
        put32(L.eventCallbackEIPOffset, SmpUpcalls.contextCallback(vcpu))
        put32(L.failsafeCallbackCSOffset, UInt32(Selector.flatRing1CS))
        put32(L.failsafeCallbackEIPOffset, guest_failsafe_callback_address())
        return c
    }

    static func vcpuOp(_ op: VcpuOp, _ vcpu: UInt32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { xen.vcpuOp(op, vcpu: vcpu, UInt32(truncatingIfNeeded: UInt(bitPattern: $0.baseAddress))) }
    }
}

/// Where vCPUs 1-3 start (their context's eip), with their number as the cdecl argument.
@_cdecl("smp_secondary")
public func smpSecondary(_ vcpu: UInt32) {
    let console = GuestConsole(xen)
    let port = Smp.bindIPI(vcpu)
    Smp.started &+= 1
    if vcpu < Smp.ringVCPUs {
        guard port > 0 else { console.print("smp: vCPU \(vcpu): bind_ipi failed with \(port)"); StartOfDay.shutdown(.crash) }
        Smp.ports[Int(vcpu)] = UInt32(port)
        console.print("smp: vCPU \(vcpu) up, IPI port \(port)")
        Smp.ring(vcpu)
    } else {
        console.print("smp: vCPU \(vcpu) up, spinning")
    }
    while true { Smp.spin(Int(vcpu)); SmpVcpuInfo.serve(vcpu); SmpUpcalls.serve(vcpu); SmpAddressSpace.serve(vcpu) }
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let console = GuestConsole(xen)
    StartOfDay.runOrCrash(startInfo, "smp")
    Smp.ports = UnsafeMutablePointer<UInt32>.allocate(capacity: Smp.vcpus)
    Smp.ports.initialize(repeating: 0, count: Smp.vcpus)
    Smp.spins = UnsafeMutablePointer<UInt64>.allocate(capacity: Smp.vcpus)
    Smp.spins.initialize(repeating: 0, count: Smp.vcpus)
    let si = StartOfDay.startInfo
    // The top-level table's machine frame (pt_base is its virtual address; VIRT_BASE is 0).
    let p2m = UnsafePointer<UInt32>(bitPattern: UInt(si.mfnList))!
    let l3Frame = p2m[Int(si.ptBase >> 12)]
    let entry: @convention(c) (UInt32) -> Void = smpSecondary
    let entryAddress = UInt32(truncatingIfNeeded: UInt(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self)))
    func stack() -> UInt32 {
        let base = UnsafeMutableRawPointer.allocate(byteCount: 16384, alignment: 16)
        return UInt32(truncatingIfNeeded: UInt(bitPattern: base)) + 16384
    }
    var up = 0
    for v in 0..<Smp.vcpus where xen.vcpuOp(.isUp, vcpu: UInt32(v)) == 1 { up += 1 }
    console.print("smp: \(up) of \(Smp.vcpus) vCPUs up at start")

    // The refusals first, each with Xen's answer.
    let upEarly = xen.vcpuOp(.up, vcpu: 1)
    console.print("smp: up of vCPU 1 before initialise: \(upEarly) (\(upEarly == -22 ? "EINVAL, as Xen" : "WRONG"))")
    let bogus = Smp.context(vcpu: 1, entry: entryAddress, stackTop: stack(), trapStackTop: stack(), cr3Frame: l3Frame)
    let noSuch = Smp.vcpuOp(.initialise, 8, bogus)
    let noSuchUp = xen.vcpuOp(.up, vcpu: 8)
    console.print("smp: initialise and up of vCPU 8: \(noSuch), \(noSuchUp) (\(noSuch == -2 && noSuchUp == -2 ? "ENOENT, as Xen" : "WRONG"))")
    SmpAddressSpace.prepare(bootL3: l3Frame)
    SmpAddressSpace.refusals { Smp.context(vcpu: 1, entry: entryAddress, stackTop: stack(), trapStackTop: stack(), cr3Frame: $0) }
    let again = Smp.vcpuOp(.initialise, 0, bogus)
    console.print("smp: initialise of vCPU 0, already running: \(again) (\(again == -17 ? "EEXIST, as Xen" : "WRONG"))")

    // vCPU 0's own IPI port, then vCPUs 1-3 (their contexts and stacks made before any of them runs).
    let port0 = Smp.bindIPI(0)
    guard port0 > 0 else { console.print("smp: bind_ipi failed with \(port0)"); StartOfDay.shutdown(.crash) }
    Smp.ports[0] = UInt32(port0)
    var contexts: [[UInt8]] = []
    for v in 1..<UInt32(Smp.vcpus) {
        contexts.append(SmpAddressSpace.own(v, Smp.context(vcpu: v, entry: entryAddress, stackTop: stack(), trapStackTop: stack(), cr3Frame: l3Frame)))
    }
    for v in 1..<UInt32(Smp.vcpus) {
        let context = contexts[Int(v) - 1]
        let rc = Smp.vcpuOp(.initialise, v, context)
        if v == 1 {
            let twice = Smp.vcpuOp(.initialise, v, context)
            console.print("smp: initialise of vCPU 1 twice: \(twice) (\(twice == -17 ? "EEXIST, as Xen" : "WRONG"))")
        }
        let upRC = xen.vcpuOp(.up, vcpu: v)
        console.print("smp: vCPU \(v): initialise \(rc), up \(upRC), is_up \(xen.vcpuOp(.isUp, vcpu: v))")
        guard rc == 0 && upRC == 0 else { StartOfDay.shutdown(.crash) }
    }
    // The ring starts once vCPUs 1 and 2 have bound their ports (they run as soon as vCPU 0 blocks or is preempted).
    while Smp.ports[1] == 0 || Smp.ports[2] == 0 { _ = xen.schedOp(.yield) }
    console.print("smp: ring of vCPUs 0-2 starts (IPI ports \(Smp.ports[0]), \(Smp.ports[1]), \(Smp.ports[2])); vCPU 3 spins")
    Smp.ring(0)
    SmpVcpuInfo.run(vcpus: Smp.vcpus)
    SmpUpcalls.run(vcpus: Smp.vcpus)
    SmpAddressSpace.run()
    // vCPU 3 (spinning, not on the CPU now) taken down and brought up again: it resumes where it was.
    let before = Smp.spins[3]
    let downRC = xen.vcpuOp(.down, vcpu: 3)
    let isUpAfterDown = xen.vcpuOp(.isUp, vcpu: 3)
    var runstate = [UInt8](repeating: 0, count: VcpuRunstateInfoLayout.size)
    let runstateRC = runstate.withUnsafeMutableBufferPointer {
        xen.vcpuOp(.getRunstateInfo, vcpu: 3, UInt32(truncatingIfNeeded: UInt(bitPattern: $0.baseAddress)))
    }
    let state = runstate.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: VcpuRunstateInfoLayout.stateOffset, as: Int32.self) }
    let ranNs = runstate.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: VcpuRunstateInfoLayout.timeOffset(.running), as: UInt64.self) }
    for _ in 0..<20 { _ = xen.schedOp(.yield) }
    let stillAfterDown = Smp.spins[3] == before
    let upAgain = xen.vcpuOp(.up, vcpu: 3)
    console.print("smp: vCPU 3 down \(downRC), is_up \(isUpAfterDown), runstate \(runstateRC): state \(state) (offline 3), \(ranNs / 1000) us running; \(stillAfterDown ? "it did not run while down" : "it RAN while down"); up again \(upAgain)")
    while Smp.spins[3] == before { _ = xen.schedOp(.yield) }
    console.print("smp: vCPU 3 spins again after its up")
    console.print("smp: every vCPU spins now")
    SmpActiveShare.run()
}

@_cdecl("guest_trap_dispatch") public func guestTrapDispatch(_ frame: UnsafeMutableRawPointer) {
    if !SmpUpcalls.callback(frame) && !SmpAddressSpace.resumeProbe(frame) { GuestTraps.standard(frame) }
}
@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
