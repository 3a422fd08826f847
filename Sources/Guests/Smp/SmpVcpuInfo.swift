// SmpVcpuInfo.swift: the smp guest's vcpu_info phase, after the IPI ring. Every vCPU moves its own
// vcpu_info into a page of its own (VCPUOP_register_vcpu_info), after vCPU 0 has met Xen's refusals
// (offset across the page, a frame not the guest's, another vCPU that is up, twice); vCPUs 1-3 each
// bind VIRQ_TIMER on themselves, arm VCPUOP_set_singleshot_timer and wait for the port (SCHEDOP_poll):
// the selector bit and upcall flag must appear in THEIR placed vcpu_info, not in shared_info's slot;
// vCPU 2 runs a 1 ms periodic timer for 5 ticks, stops it and sees no tick for 5 ms; vCPU 0 moves a
// loopback port from vCPU 1 to vCPU 2 (EVTCHNOP_bind_vcpu) and sees each send in the right placed page.
// Secondaries run their tasks allocation-free (records on the stack) and print nothing; vCPU 0 prints
// what they wrote in `results`. It must never fake a result: each number is a hypercall's answer or
// a word read back from guest memory the hypervisor wrote.

import ApusCore
import GuestKit
import PVABI

enum SmpVcpuInfo {
    /// Per vCPU: the task posted to it (0: none), its vcpu_info page, and 8 result words.
    static var task: UnsafeMutablePointer<UInt32>? = nil
    static var pages: UnsafeMutablePointer<UInt32>? = nil
    static var results: UnsafeMutablePointer<UInt32>? = nil
    static let register: UInt32 = 1, singleshot: UInt32 = 2, periodic: UInt32 = 3
    static let periodicTicks: UInt32 = 5

    /// Where vCPU `v` puts its vcpu_info in its page: a different offset each.
    static func offset(_ v: UInt32) -> UInt32 { 0x40 * (v + 1) }
    static func info(_ v: UInt32) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(pages![Int(v)] + offset(v)))!
    }
    static func frame(of va: UInt32) -> UInt32 {
        UnsafePointer<UInt32>(bitPattern: UInt(StartOfDay.startInfo.mfnList))![Int(va >> 12)]
    }
    /// System time from vCPU `v`'s placed vcpu_info (its own time record).
    static func now(_ v: UInt32) -> UInt64 {
        let time = UnsafeRawPointer(info(v).advanced(by: VcpuInfo.timeOffset))
        while true { if let t = VcpuTimeRecord.guestSystemTime(from: time, tsc: guest_rdtsc()) { return t } }
    }

    /// register_vcpu_info for `vcpu` with a record on the stack.
    static func registerVcpuInfo(_ vcpu: UInt32, mfn: UInt32, offset: UInt32) -> Int32 {
        var record: (UInt32, UInt32, UInt32, UInt32) = (mfn, 0, offset, 0)
        precondition(VcpuRegisterVcpuInfoLayout.mfnOffset == 0 && VcpuRegisterVcpuInfoLayout.offsetOffset == 8)
        return withUnsafeMutablePointer(to: &record) { xen.vcpuOp(.registerVcpuInfo, vcpu: vcpu, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
    }
    static func setPeriodic(_ vcpu: UInt32, _ period: UInt64) -> Int32 {
        var record = period
        return withUnsafeMutablePointer(to: &record) { xen.vcpuOp(.setPeriodicTimer, vcpu: vcpu, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
    }
    /// EVTCHNOP_bind_virq VIRQ_TIMER on `vcpu`: the port, or a negative errno.
    static func bindTimer(_ vcpu: UInt32) -> Int32 {
        var record: (UInt32, UInt32, UInt32) = (Virq.timer, vcpu, 0)
        precondition(EvtchnBindVirqLayout.virqOffset == 0 && EvtchnBindVirqLayout.vcpuOffset == 4)
        let rc = withUnsafeMutablePointer(to: &record) {
            xen.eventChannelOp(EventChannelOp.bindVirq.rawValue, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
        return rc == 0 ? Int32(bitPattern: record.2) : rc
    }
    static func bindVCPU(_ port: UInt32, _ vcpu: UInt32) -> Int32 {
        var record: (UInt32, UInt32) = (port, vcpu)
        precondition(EvtchnBindVCPULayout.portOffset == 0 && EvtchnBindVCPULayout.vcpuOffset == 4)
        return withUnsafeMutablePointer(to: &record) {
            xen.eventChannelOp(EventChannelOp.bindVCPU.rawValue, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
    }
    static var pendingWords: UnsafeMutablePointer<UInt32> {
        StartOfDay.sharedInfo.base.advanced(by: SharedInfo.evtchnPendingOffset).assumingMemoryBound(to: UInt32.self)
    }
    static func sel(_ p: UnsafeMutableRawPointer) -> UInt32 { p.load(fromByteOffset: VcpuInfo.evtchnPendingSelOffset, as: UInt32.self) }
    static func upcall(_ p: UnsafeMutableRawPointer) -> UInt32 { UInt32(p.load(fromByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)) }
    static func clearFlags(_ p: UnsafeMutableRawPointer) {
        p.storeBytes(of: 0, toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        _ = guest_xchg32(p.advanced(by: VcpuInfo.evtchnPendingSelOffset).assumingMemoryBound(to: UInt32.self), 0)
    }
    static var sharedSlot: UnsafeMutableRawPointer { StartOfDay.sharedInfo.base }
    static func slot(_ v: UInt32) -> UnsafeMutableRawPointer { sharedSlot.advanced(by: SharedInfo.vcpuInfoOffset(vcpu: Int(v))) }

    /// Waits (SCHEDOP_poll) until `port` is pending for `vcpu`, and clears it; its placed upcall flag and
    /// selector are cleared before each poll (poll returns at once while the flag is set, and the next
    /// event raises them only when the selector bit was clear).
    static func waitFor(_ vcpu: UInt32, _ port: UInt32) {
        var list = port
        while true {
            clearFlags(info(vcpu))
            if guest_test_and_clear_bit(pendingWords.advanced(by: Int(port / 32)), port % 32) != 0 { return }
            withUnsafeMutablePointer(to: &list) { p in
                var poll: (UInt32, UInt32, UInt32, UInt32) = (UInt32(truncatingIfNeeded: UInt(bitPattern: p)), 1, 0, 0)
                _ = withUnsafeMutablePointer(to: &poll) { xen.schedOp(.poll, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
            }
        }
    }

    /// Called by vCPUs 1-3 in their spin loop: runs a task vCPU 0 posted, if any.
    static func serve(_ vcpu: UInt32) {
        guard let task else { return }
        guest_compiler_barrier()
        let t = task[Int(vcpu)]
        guard t != 0 else { return }
        let r = results!.advanced(by: Int(vcpu) * 8)
        switch t {
        case register:
            let rc = registerVcpuInfo(vcpu, mfn: frame(of: pages![Int(vcpu)]), offset: offset(vcpu))
            let p = info(vcpu)
            r[0] = UInt32(bitPattern: rc)
            r[1] = upcall(p)
            r[2] = sel(p)
            r[3] = UInt32(p.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self))
            r[4] = p.load(fromByteOffset: VcpuInfo.timeOffset, as: UInt32.self)
            clearFlags(p)
        case singleshot:
            let port = bindTimer(vcpu)
            r[0] = UInt32(bitPattern: port)
            guard port > 0 else { break }
            let p = info(vcpu)
            clearFlags(p)
            let slotSel = sel(slot(vcpu))
            var record: (UInt32, UInt32, UInt32) = (0, 0, 0)
            let deadline = now(vcpu) &+ 2_000_000
            record.0 = UInt32(truncatingIfNeeded: deadline); record.1 = UInt32(truncatingIfNeeded: deadline >> 32)
            let rc = withUnsafeMutablePointer(to: &record) { xen.vcpuOp(.setSingleshotTimer, vcpu: vcpu, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
            r[1] = UInt32(bitPattern: rc)
            // Only the selector is left to read: await clears the upcall flag before each poll, and the
            // hypervisor sets both together.
            var list = UInt32(port)
            var upcallSeen: UInt32 = 0
            while guest_test_and_clear_bit(pendingWords.advanced(by: Int(port / 32)), UInt32(port) % 32) == 0 {
                if upcall(p) != 0 { upcallSeen = 1; break }
                withUnsafeMutablePointer(to: &list) { lp in
                    var poll: (UInt32, UInt32, UInt32, UInt32) = (UInt32(truncatingIfNeeded: UInt(bitPattern: lp)), 1, 0, 0)
                    _ = withUnsafeMutablePointer(to: &poll) { xen.schedOp(.poll, UInt32(truncatingIfNeeded: UInt(bitPattern: $0))) }
                }
            }
            r[2] = upcallSeen | upcall(p)
            r[3] = sel(p)
            r[4] = sel(slot(vcpu)) == slotSel ? 1 : 0
            let late = now(vcpu)
            r[5] = late >= deadline ? UInt32(truncatingIfNeeded: (late - deadline) / 1000) : 0xFFFF_FFFF
            _ = guest_test_and_clear_bit(pendingWords.advanced(by: Int(port / 32)), UInt32(port) % 32)
            clearFlags(p)
            r[6] = UInt32(port)
        case periodic:
            let port = UInt32(bitPattern: Int32(bitPattern: r[6]))
            let p = info(vcpu)
            let start = now(vcpu)
            r[0] = UInt32(bitPattern: setPeriodic(vcpu, 1_000_000))
            var ticks: UInt32 = 0
            while ticks < periodicTicks { waitFor(vcpu, port); ticks += 1 }
            let end = now(vcpu)
            r[1] = ticks
            r[2] = UInt32(truncatingIfNeeded: (end - start) / 1000)
            r[3] = UInt32(bitPattern: xen.vcpuOp(.stopPeriodicTimer, vcpu: vcpu))
            _ = guest_test_and_clear_bit(pendingWords.advanced(by: Int(port / 32)), port % 32)
            clearFlags(p)
            let quiet = now(vcpu)
            while now(vcpu) &- quiet < 5_000_000 { _ = xen.schedOp(.yield) }
            r[4] = guest_test_and_clear_bit(pendingWords.advanced(by: Int(port / 32)), port % 32) != 0 ? 1 : 0
            r[5] = sel(p)
        default:
            break
        }
        guest_compiler_barrier()
        task[Int(vcpu)] = 0
    }

    /// vCPU 0 posts `t` to `vcpu` and yields until it is done.
    static func post(_ t: UInt32, to vcpu: UInt32) {
        task![Int(vcpu)] = t
        while true {
            guest_compiler_barrier()
            if task![Int(vcpu)] == 0 { return }
            _ = xen.schedOp(.yield)
        }
    }

    static func word(_ v: UInt32, _ i: Int) -> UInt32 { results![Int(v) * 8 + i] }
    static func int(_ v: UInt32, _ i: Int) -> Int32 { Int32(bitPattern: word(v, i)) }

    /// The phase, run by vCPU 0 after the ring while vCPUs 1-3 spin in their serve loop.
    static func run(vcpus: Int) {
        let console = GuestConsole(xen)
        let pageList = UnsafeMutablePointer<UInt32>.allocate(capacity: vcpus)
        for v in 0..<vcpus {
            let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
            page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
            pageList[v] = UInt32(truncatingIfNeeded: UInt(bitPattern: page))
        }
        let res = UnsafeMutablePointer<UInt32>.allocate(capacity: vcpus * 8)
        res.initialize(repeating: 0, count: vcpus * 8)
        let tasks = UnsafeMutablePointer<UInt32>.allocate(capacity: vcpus)
        tasks.initialize(repeating: 0, count: vcpus)
        pages = pageList; results = res
        guest_compiler_barrier()
        task = tasks

        // Xen's refusals first, each next to what makes it one.
        let own = frame(of: pageList[0])
        let across = registerVcpuInfo(0, mfn: own, offset: 4096 - 63)
        let foreign = registerVcpuInfo(0, mfn: UInt32(AddressMap.imagePhysicalBase >> 12), offset: 0)
        let otherUp = registerVcpuInfo(1, mfn: frame(of: pageList[1]), offset: offset(1))
        console.print("smp: register_vcpu_info refused: offset 4033 (across the page) \(across), the hypervisor's frame \(foreign), vCPU 1's from vCPU 0 while it is up \(otherUp) (\(across == -22 && foreign == -22 && otherUp == -22 ? "EINVAL, as Xen" : "WRONG"))")
        // vCPU 0's own: upcalls masked first (the copy keeps the mask), as a kernel does before it moves it.
        slot(0).storeBytes(of: 1, toByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self)
        let rc0 = registerVcpuInfo(0, mfn: own, offset: offset(0))
        let p0 = info(0)
        console.print("smp: vCPU 0 placed its vcpu_info at frame \(hex: own) + \(hex: offset(0)): \(rc0); there upcall_pending \(upcall(p0)), pending_sel \(hex: sel(p0)), mask \(UInt32(p0.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self))) (copied), time version \(p0.load(fromByteOffset: VcpuInfo.timeOffset, as: UInt32.self))")
        clearFlags(p0)
        let twice = registerVcpuInfo(0, mfn: frame(of: pageList[1]), offset: 0)
        console.print("smp: register_vcpu_info of vCPU 0 twice: \(twice) (\(twice == -22 ? "EINVAL, as Xen" : "WRONG"))")
        for v in 1..<UInt32(vcpus) {
            post(register, to: v)
            console.print("smp: vCPU \(v) placed its own vcpu_info at frame \(hex: frame(of: pageList[Int(v)])) + \(hex: offset(v)): \(int(v, 0)); there upcall_pending \(word(v, 1)), pending_sel \(hex: word(v, 2)), mask \(word(v, 3)), time version \(word(v, 4))")
        }

        let short = setPeriodic(1, 999_999), tiny = setPeriodic(1, 50_000), long = setPeriodic(1, 1 << 62)
        console.print("smp: set_periodic_timer of 999999 ns, 50000 ns, 2^62 ns: \(short), \(tiny), \(long) (\(short == -22 && tiny == -22 && long == -22 ? "EINVAL, as Xen: 1 ms to STIME_DELTA_MAX" : "WRONG"))")
        let noVcpu = bindTimer(UInt32(vcpus)), noVcpu8 = bindTimer(8)
        console.print("smp: bind_virq VIRQ_TIMER on vCPU \(vcpus) and 8: \(noVcpu), \(noVcpu8) (\(noVcpu == -2 && noVcpu8 == -2 ? "ENOENT, as Xen" : "WRONG"))")

        for v in 1..<UInt32(vcpus) {
            post(singleshot, to: v)
            console.print("smp: vCPU \(v): VIRQ_TIMER port \(int(v, 0)) bound on it, set_singleshot_timer \(int(v, 1)); fired \(word(v, 5)) us after its deadline; in its placed vcpu_info upcall_pending \(word(v, 2)), pending_sel \(hex: word(v, 3)); shared_info's slot \(word(v, 4) == 1 ? "untouched" : "WRITTEN")")
        }
        post(periodic, to: 2)
        console.print("smp: vCPU 2: set_periodic_timer 1 ms: \(int(2, 0)); \(word(2, 1)) ticks in \(word(2, 2)) us; stop_periodic_timer \(int(2, 3)); ticks in the 5 ms after: \(word(2, 4)), pending_sel \(hex: word(2, 5))")

        // A loopback channel (alloc_unbound and bind_interdomain to itself): sends on `b` land on `a`.
        let a = GuestEvents.allocUnbound(remote: SpecialDomainID.selfID)
        let b = a > 0 ? GuestEvents.bindInterdomain(remote: SpecialDomainID.selfID, port: UInt32(a)) : a
        guard a > 0 && b > 0 else { console.print("smp: loopback channel failed: \(a), \(b)"); return }
        let word = UInt32(a) / 32
        _ = guest_test_and_clear_bit(pendingWords.advanced(by: Int(word)), UInt32(a) % 32)
        for v in 0..<UInt32(vcpus) { clearFlags(info(v)) }
        let to1 = bindVCPU(UInt32(a), 1)
        let send1 = GuestEvents.send(UInt32(b))
        let first = (sel(info(1)) >> word) & 1, firstOn2 = (sel(info(2)) >> word) & 1
        _ = guest_test_and_clear_bit(pendingWords.advanced(by: Int(word)), UInt32(a) % 32)
        for v in 0..<UInt32(vcpus) { clearFlags(info(v)) }
        let to2 = bindVCPU(UInt32(a), 2)
        let send2 = GuestEvents.send(UInt32(b))
        let second = (sel(info(2)) >> word) & 1, secondOn1 = (sel(info(1)) >> word) & 1
        _ = guest_test_and_clear_bit(pendingWords.advanced(by: Int(word)), UInt32(a) % 32)
        for v in 0..<UInt32(vcpus) { clearFlags(info(v)) }
        console.print("smp: bind_vcpu of port \(a) to vCPU 1: \(to1), send \(send1): selector bit in vCPU 1's placed vcpu_info \(first), vCPU 2's \(firstOn2); to vCPU 2: \(to2), send \(send2): vCPU 2's \(second), vCPU 1's \(secondOn1)")
    }
}
