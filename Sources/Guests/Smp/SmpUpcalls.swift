// SmpUpcalls.swift: the smp guest's event-upcall phase, after the vcpu_info phase (every vcpu_info
// placed in a page of its own). vCPUs 1-3 each take real event-channel upcalls on their own callback:
// vCPU 1 the one its VCPUOP_initialise context named (GuestKit's stub for vector 24), vCPU 2 one it
// registers with CALLBACKOP_register (stub 22), vCPU 3 one it registers with set_callbacks (stub 23);
// each then waits with events unmasked in SCHEDOP_block. vCPU 0 meets Xen's refusals (bind_vcpu to a
// vCPU that does not exist, bind_vcpu of an IPI port, bind_ipi on a vCPU that does not exist), binds an
// IPI port on each of them, moves a loopback port to each in turn (EVTCHNOP_bind_vcpu) and sends, one
// event at a time, waiting for each to be taken; the last event of each vCPU is raised by
// EVTCHNOP_unmask of a masked pending port (Xen re-raises it for the port's vCPU and wakes it).
// The callback proves where it runs: which callback was entered (its stub's vector), which vCPU's stack
// the bounce frame is on (only that vCPU's saved context points there), and that the upcall flag is
// raised and the upcall mask set in THAT vCPU's placed vcpu_info. It counts only what it found pending;
// vCPU 0 prints the counts. Secondaries allocate nothing (plain memory set up by vCPU 0 first).
// It must never fake a result: every count is what the callbacks saw.

import ApusCore
import GuestKit
import PVABI

enum SmpUpcalls {
    /// The callback stubs (GuestKit's trap stubs of unused vectors without an error code) per vCPU,
    /// and vCPU 0's own (the event callback pseudo-vector).
    static let tags: (UInt32, UInt32, UInt32, UInt32) = (256, 24, 22, 23)
    static func tag(_ v: UInt32) -> UInt32 {
        switch v { case 1: return tags.1; case 2: return tags.2; case 3: return tags.3; default: return tags.0 }
    }
    /// Events of each kind sent to vCPU v: IPIs v + 1, loopback sends 1, loopback raised by unmask 1.
    static func ipis(_ v: UInt32) -> UInt32 { v + 1 }
    static func expected(_ v: UInt32) -> UInt32 { ipis(v) + 2 }

    /// The event callback vCPU `vcpu`'s VCPUOP_initialise context names (Smp.context): vCPU 1 its own stub.
    static func contextCallback(_ vcpu: UInt32) -> UInt32 {
        vcpu == 1 ? guest_trap_stub_address(tags.1) : guest_event_callback_address()
    }

    /// Per vCPU, 16 words (see the indices below); nil until vCPU 0 sets them up.
    static var words: UnsafeMutablePointer<UInt32>? = nil
    static var task: UnsafeMutablePointer<UInt32>? = nil
    /// The ports the callbacks handle: IPI port per vCPU, and the loopback port and its current owner.
    static var loopPort: UInt32 = 0
    static var loopOwner: UInt32 = 0
    /// Upcalls whose frame was on none of vCPUs 1-3's stacks while the phase ran (must stay 0).
    static var strays: UInt32 = 0

    static let take: UInt32 = 1
    // Word indices.
    static let wRC = 0, wReady = 1, wMark = 2, wTaken = 3, wIPI = 4, wLoop = 5, wWrongCallback = 6
    static let wWrongInfo = 7, wSpurious = 8, wIPIPort = 9, wExpected = 10, wSavedMaskSet = 11, wLeft = 12

    static func w(_ v: UInt32, _ i: Int) -> UnsafeMutablePointer<UInt32> { words!.advanced(by: Int(v) * 16 + i) }
    static func read(_ v: UInt32, _ i: Int) -> UInt32 { guest_compiler_barrier(); return w(v, i).pointee }

    static func mask(_ p: UnsafeMutableRawPointer) -> UInt8 { p.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }
    static func setMask(_ p: UnsafeMutableRawPointer, _ m: UInt8) { p.storeBytes(of: m, toByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self) }

    /// The vCPU (1-3) whose stack holds `address`: just below the mark it left before blocking.
    static func vcpu(onStackOf address: UInt32) -> UInt32? {
        guard words != nil else { return nil }
        for v in UInt32(1)...3 {
            let mark = w(v, wMark).pointee
            if mark != 0 && address < mark && mark &- address < 4096 { return v }
        }
        return nil
    }

    /// From guest_trap_dispatch: true when the frame is one of this phase's upcalls (handled here).
    static func callback(_ raw: UnsafeMutableRawPointer) -> Bool {
        let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
        let vector = frame.pointee.vector
        guard vector == tags.1 || vector == tags.2 || vector == tags.3 || vector == tags.0 else { return false }
        guard words != nil else { return false }
        let v: UInt32
        if let onStack = vcpu(onStackOf: UInt32(truncatingIfNeeded: UInt(bitPattern: raw))) {
            v = onStack
        } else {
            // Not where a vCPU of the phase blocks: vCPU 0's goes to GuestKit; a secondary's callback
            // (known by its vector) is still served, so that its flag is cleared, and counted apart.
            if vector == tags.0 { return false }
            strays &+= 1
            v = vector == tags.1 ? 1 : vector == tags.2 ? 2 : 3
        }
        if vector != tag(v) { w(v, wWrongCallback).pointee &+= 1 }
        let info = SmpVcpuInfo.info(v)
        // Entered with the upcall flag raised and upcalls masked in ITS vcpu_info, interrupted unmasked.
        if SmpVcpuInfo.upcall(info) != 1 || mask(info) != 1 { w(v, wWrongInfo).pointee &+= 1 }
        if frame.pointee.savedUpcallMask != 0 { w(v, wSavedMaskSet).pointee &+= 1 }
        info.storeBytes(of: 0, toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        var selector = guest_xchg32(info.advanced(by: VcpuInfo.evtchnPendingSelOffset).assumingMemoryBound(to: UInt32.self), 0)
        let si = StartOfDay.sharedInfo.base
        var handled = false
        while selector != 0 {
            let word = UInt32(selector.trailingZeroBitCount)
            selector &= selector &- 1
            let pending = SmpVcpuInfo.pendingWords.advanced(by: Int(word))
            var bits = pending.pointee & ~si.load(fromByteOffset: SharedInfo.evtchnMaskOffset + Int(word) * 4, as: UInt32.self)
            while bits != 0 {
                let bit = UInt32(bits.trailingZeroBitCount)
                bits &= bits &- 1
                let port = word &* 32 &+ bit
                // Only its own ports: another vCPU's stay pending for that vCPU (its own selector has them).
                if port == w(v, wIPIPort).pointee, guest_test_and_clear_bit(pending, bit) != 0 {
                    w(v, wIPI).pointee &+= 1; handled = true
                } else if port == loopPort && loopOwner == v, guest_test_and_clear_bit(pending, bit) != 0 {
                    w(v, wLoop).pointee &+= 1; handled = true
                }
            }
        }
        if handled { w(v, wTaken).pointee &+= 1 } else { w(v, wSpurious).pointee &+= 1 }
        return true
    }

    /// CALLBACKOP_register of the event callback at `eip`, record on the stack.
    static func registerEvent(_ eip: UInt32) -> Int32 {
        precondition(CallbackRegisterLayout.typeOffset == 0 && CallbackRegisterLayout.csOffset == 4 && CallbackRegisterLayout.eipOffset == 8)
        var record: (UInt32, UInt32, UInt32) = (UInt32(CallbackType.event.rawValue), UInt32(Selector.flatRing1CS), eip)
        return withUnsafeMutablePointer(to: &record) { xen.callbackOp(.register, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
    }

    /// vCPUs 1-3, from their serve loop: the posted task, if any.
    static func serve(_ vcpu: UInt32) {
        guard let task else { return }
        guest_compiler_barrier()
        guard task[Int(vcpu)] == take else { return }
        let cs = UInt32(Selector.flatRing1CS)
        var rc: Int32 = 0
        switch vcpu {
        case 2: rc = registerEvent(guest_trap_stub_address(tags.2))
        case 3: rc = xen.setCallbacks(eventCS: cs, eventEIP: guest_trap_stub_address(tags.3),
                                      failsafeCS: cs, failsafeEIP: guest_failsafe_callback_address())
        default: break                                      // vCPU 1: its context's callback
        }
        w(vcpu, wRC).pointee = UInt32(bitPattern: rc)
        var here: UInt32 = 0
        withUnsafeMutablePointer(to: &here) { w(vcpu, wMark).pointee = UInt32(truncatingIfNeeded: UInt(bitPattern: $0)) }
        let info = SmpVcpuInfo.info(vcpu)
        guest_compiler_barrier()
        w(vcpu, wReady).pointee = 1
        // Mask, check, block: SCHEDOP_block unmasks and returns at once when an upcall is pending, so
        // an event between the check and the block is not lost; the upcall comes on the way back.
        while true {
            setMask(info, 1)
            guest_compiler_barrier()
            if w(vcpu, wTaken).pointee >= w(vcpu, wExpected).pointee || w(vcpu, wLeft).pointee != 0 { break }
            _ = xen.schedOp(.block)
        }
        setMask(info, 1)
        guest_compiler_barrier()
        task[Int(vcpu)] = 0
        withExtendedLifetime(here) {}
    }

    static func bindVCPU(_ port: UInt32, _ vcpu: UInt32) -> Int32 { SmpVcpuInfo.bindVCPU(port, vcpu) }

    /// EVTCHNOP_unmask of `port`.
    static func unmask(_ port: UInt32) -> Int32 {
        var record = port
        return withUnsafeMutablePointer(to: &record) {
            xen.eventChannelOp(EventChannelOp.unmask.rawValue, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
    }

    /// vCPU 0 waits (yielding) until vCPU `v` took an upcall more than `before`; false after 500 ms.
    static func awaitTaken(_ v: UInt32, beyond before: UInt32) -> Bool {
        let start = SmpVcpuInfo.now(0)
        while read(v, wTaken) == before {
            if SmpVcpuInfo.now(0) &- start > 500_000_000 { return false }
            _ = xen.schedOp(.yield)
        }
        return true
    }

    /// The phase, run by vCPU 0 after the vcpu_info phase while vCPUs 1-3 spin in their serve loop.
    static func run(vcpus: Int) {
        let console = GuestConsole(xen)
        let block = UnsafeMutablePointer<UInt32>.allocate(capacity: vcpus * 16)
        block.initialize(repeating: 0, count: vcpus * 16)
        let tasks = UnsafeMutablePointer<UInt32>.allocate(capacity: vcpus)
        tasks.initialize(repeating: 0, count: vcpus)
        words = block

        // A loopback channel (alloc_unbound and bind_interdomain to itself): sends on `b` land on `a`.
        let a = GuestEvents.allocUnbound(remote: SpecialDomainID.selfID)
        let b = a > 0 ? GuestEvents.bindInterdomain(remote: SpecialDomainID.selfID, port: UInt32(a)) : a
        guard a > 0 && b > 0 else { console.print("smp: upcalls: loopback channel failed: \(a), \(b)"); return }
        let aPort = UInt32(a), bPort = UInt32(b)
        _ = guest_test_and_clear_bit(SmpVcpuInfo.pendingWords.advanced(by: Int(aPort / 32)), aPort % 32)

        var ipi: (Int32, Int32, Int32) = (0, 0, 0)
        ipi.0 = Smp.bindIPI(1); ipi.1 = Smp.bindIPI(2); ipi.2 = Smp.bindIPI(3)
        guard ipi.0 > 0 && ipi.1 > 0 && ipi.2 > 0 else { console.print("smp: upcalls: bind_ipi failed: \(ipi.0), \(ipi.1), \(ipi.2)"); return }
        // Xen's refusals (common/event_channel.c): no such vCPU is ENOENT, an IPI port keeps its vCPU.
        let noVcpu = bindVCPU(aPort, UInt32(vcpus)), ipiMove = bindVCPU(UInt32(ipi.0), 2), noIPI = Smp.bindIPI(UInt32(vcpus))
        console.print("smp: bind_vcpu of port \(a) to vCPU \(vcpus): \(noVcpu), of vCPU 1's IPI port \(ipi.0) to vCPU 2: \(ipiMove), bind_ipi on vCPU \(vcpus): \(noIPI) (\(noVcpu == -2 && ipiMove == -22 && noIPI == -2 ? "ENOENT, EINVAL, ENOENT, as Xen" : "WRONG"))")

        for v in UInt32(1)...3 {
            w(v, wIPIPort).pointee = UInt32(v == 1 ? ipi.0 : v == 2 ? ipi.1 : ipi.2)
            w(v, wExpected).pointee = expected(v)
            SmpVcpuInfo.clearFlags(SmpVcpuInfo.info(v))
        }
        loopPort = aPort
        guest_compiler_barrier()
        task = tasks
        for v in 1..<vcpus { tasks[v] = take }
        for v in UInt32(1)...3 { while read(v, wReady) == 0 { _ = xen.schedOp(.yield) } }
        console.print("smp: upcalls: vCPU 2 registered its event callback with CALLBACKOP_register: \(Int32(bitPattern: read(2, wRC))), vCPU 3 with set_callbacks: \(Int32(bitPattern: read(3, wRC))); vCPU 1 keeps its VCPUOP_initialise context's; vCPUs 1-3 block with upcalls unmasked")

        var timeouts: UInt32 = 0
        // IPIs round-robin over vCPUs 1-3, one at a time: vCPU v gets v + 1.
        for round in UInt32(0)..<4 {
            for v in UInt32(1)...3 where round < ipis(v) {
                let before = read(v, wTaken)
                _ = GuestEvents.send(w(v, wIPIPort).pointee)
                if !awaitTaken(v, beyond: before) { timeouts &+= 1 }
            }
        }
        var moved: (Int32, Int32, Int32) = (0, 0, 0)
        var unmasks: (Int32, Int32, Int32) = (0, 0, 0)
        var quietWhileMasked: UInt32 = 0
        let maskWord = StartOfDay.sharedInfo.base.advanced(by: SharedInfo.evtchnMaskOffset + Int(aPort / 32) * 4).assumingMemoryBound(to: UInt32.self)
        for v in UInt32(1)...3 {
            // The loopback port moved to vCPU v: one send.
            loopOwner = v
            guest_compiler_barrier()
            let rc = bindVCPU(aPort, v)
            if v == 1 { moved.0 = rc } else if v == 2 { moved.1 = rc } else { moved.2 = rc }
            var before = read(v, wTaken)
            _ = GuestEvents.send(bPort)
            if !awaitTaken(v, beyond: before) { timeouts &+= 1 }
            // Masked, sent (pending, no upcall), then unmasked by vCPU 0: Xen raises it for vCPU v and wakes it.
            before = read(v, wTaken)
            maskWord.pointee |= 1 << (aPort % 32)
            _ = GuestEvents.send(bPort)
            for _ in 0..<20 { _ = xen.schedOp(.yield) }
            if read(v, wTaken) == before { quietWhileMasked &+= 1 }
            let u = unmask(aPort)
            if v == 1 { unmasks.0 = u } else if v == 2 { unmasks.1 = u } else { unmasks.2 = u }
            if !awaitTaken(v, beyond: before) { timeouts &+= 1 }
        }
        // Every vCPU leaves its loop (it already has, unless an event went missing).
        for v in UInt32(1)...3 { w(v, wLeft).pointee = 1 }
        // Bounded: a vCPU stuck in its callback (re-entered on every return while its upcall flag stays
        // raised) never gets back to its loop; it is counted, not waited for.
        var stuck: UInt32 = 0
        for v in 1..<vcpus {
            let start = SmpVcpuInfo.now(0)
            while tasks[v] != 0 {
                guest_compiler_barrier()
                if SmpVcpuInfo.now(0) &- start > 1_000_000_000 { stuck &+= 1; break }
                _ = xen.schedOp(.yield)
            }
        }
        console.print("smp: upcalls: loopback port \(a) moved to vCPUs 1, 2, 3 with bind_vcpu: \(moved.0), \(moved.1), \(moved.2); masked and sent, no upcall until EVTCHNOP_unmask: \(quietWhileMasked) of 3, unmask \(unmasks.0), \(unmasks.1), \(unmasks.2); \(timeouts) waits timed out, \(stuck) vCPUs stuck")
        var wrongCallback: UInt32 = 0, wrongInfo: UInt32 = 0, maskedBefore: UInt32 = 0, spurious: UInt32 = 0
        for v in UInt32(1)...3 {
            let how: StaticString = v == 1 ? "VCPUOP_initialise" : v == 2 ? "CALLBACKOP_register" : "set_callbacks"
            console.print("smp: vCPU \(v) took \(read(v, wTaken)) upcalls of \(expected(v)) sent, on its own stack and \(how) callback (vector \(tag(v))): IPI port \(read(v, wIPIPort)) \(read(v, wIPI)) of \(ipis(v)), loopback \(read(v, wLoop)) of 2")
            wrongCallback &+= read(v, wWrongCallback); wrongInfo &+= read(v, wWrongInfo)
            maskedBefore &+= read(v, wSavedMaskSet); spurious &+= read(v, wSpurious)
        }
        console.print("smp: upcalls: on another vCPU's callback \(wrongCallback), flag or mask not in the vCPU's own vcpu_info \(wrongInfo), interrupted masked \(maskedBefore), spurious \(spurious), on no secondary's stack \(strays)")
    }
}
