// Fuzz.swift: a domain (domU or dom0) that makes 1,000,000 hypercalls with hostile arguments from
// a seeded generator, survives the ones that legitimately change its own state, skips only the
// ones that would legitimately end or freeze it, and reports the seed, the count, the skips and
// what every call answered. It must never stop before its report unless the hypervisor breaks it.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "guest_hypercall")
func fuzz_hypercall(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32

enum Fuzz {
    static let console = GuestConsole(xen)
    static var index: UInt32 = 0
    static var issued: UInt32 = 0
    /// avoid=N or N.S entries (comma-separated): calls to leave out while known hypervisor bugs
    /// are open. Only for development: the committed configurations fuzz everything.
    static var avoidList: [(UInt32, UInt32?)] = []
    static var traceFrom: UInt32 = 0xFFFF_FFFF
    static let traceLength: UInt32 = 4000
    /// tracenr=N: print every call to hypercall N before making it (to find the one that panics).
    static var traceNumber: UInt32 = 0xFFFF_FFFF

    static func now() -> UInt64 { GuestTime.now() }

    static func avoids(_ number: UInt32, _ sub: UInt32) -> Bool {
        for (n, s) in avoidList where n == number && (s == nil || s == sub) { return true }
        return false
    }

    static func parseAvoidList() {
        guard let text = StartOfDay.argument("avoid") else { return }
        var number: UInt32 = 0, sub: UInt32 = 0, inSub = false, digits = 0
        func flush() {
            if digits > 0 { avoidList.append((number, inSub ? sub : nil)) }
            number = 0; sub = 0; inSub = false; digits = 0
        }
        for c in text {
            if c >= 48 && c <= 57 {
                if inSub { sub = sub &* 10 &+ UInt32(c - 48) } else { number = number &* 10 &+ UInt32(c - 48) }
                digits += 1
            } else if c == 46 { inSub = true } else { flush() }
        }
        flush()
    }

    /// VIRQ_TIMER bound (again, if a fuzzed close or reset took it) and due shortly: the wake-up
    /// a block or poll needs.
    static func armTimer() {
        let rc = GuestEvents.bindVirq(Virq.timer)
        if rc < 0 && rc != -XenError.EEXIST.rawValue {
            var w: [UInt32] = [UInt32(SpecialDomainID.selfID)]
            _ = w.withUnsafeMutableBufferPointer { xen.eventChannelOp(EventChannelOp.reset.rawValue, UInt32(UInt(bitPattern: $0.baseAddress))) }
            _ = GuestEvents.bindVirq(Virq.timer)
        }
        _ = GuestTime.setTimer(now() &+ 100_000)
    }

    /// Puts back what a call may legitimately have changed in the fuzzer's own state.
    static func repair(_ c: Call, _ rc: Int32) {
        if c.repair & Repair.traps != 0 { _ = StartOfDay.installTraps() }
        if c.repair & Repair.callbacks != 0 {
            _ = StartOfDay.installCallbacks()
            var record: [UInt32] = [4, 0, 0]                           // callback_op unregister NMI
            _ = record.withUnsafeMutableBufferPointer { xen.callbackOp(.unregister, UInt32(UInt(bitPattern: $0.baseAddress))) }
            _ = fuzz_hypercall(28, 1, 0, 0, 0, 0)                      // nmi_op unregister_callback
        }
        if c.repair & Repair.stack != 0 { _ = xen.stackSwitch(ss: UInt32(Selector.flatRing1DS), esp: guest_symbol(GuestSymbol.kernelTrapStackTop)) }
        if c.repair & Repair.fpu != 0 { _ = xen.fpuTaskswitch(false) }
        if c.repair & Repair.debug != 0 { _ = fuzz_hypercall(8, 7, 0, 0, 0, 0) }
        if c.repair & Repair.watchdog != 0 && rc > 0 {
            var w: [UInt32] = [UInt32(bitPattern: rc), 0]               // sched_watchdog {id, timeout 0}: delete it
            _ = w.withUnsafeMutableBufferPointer { xen.schedOp(.watchdog, UInt32(UInt(bitPattern: $0.baseAddress))) }
        }
        if c.repair & (Repair.schedulerParams | Repair.maxEventChannel) != 0 && FuzzSpace.privileged {
            var d = [UInt32](repeating: 0, count: DomctlLayout.size / 4)
            d[0] = DomctlCommand.schedulerOp.rawValue; d[1] = DomctlVersion.apus; d[2] = UInt32(FuzzSpace.selfID)
            d[4] = SchedulerID.credit; d[5] = DomctlSchedulerCommand.putInfo.rawValue; d[6] = 256    // weight 256, cap 0
            _ = d.withUnsafeMutableBufferPointer { xen.domctl(UInt32(UInt(bitPattern: $0.baseAddress))) }
            d[0] = DomctlCommand.setMaxEventChannel.rawValue; d[4] = 4095; d[5] = 0; d[6] = 0
            _ = d.withUnsafeMutableBufferPointer { xen.domctl(UInt32(UInt(bitPattern: $0.baseAddress))) }
        }
    }

    /// Ends whatever line fuzzed console writes left open, so the fuzzer's own lines start clean.
    static func endLine() {
        var newline: UInt8 = 10
        _ = withUnsafeMutablePointer(to: &newline) { xen.consoleWrite(UInt32(UInt(bitPattern: $0)), 1) }
    }

    static func trace(_ c: Call) {
        endLine()
        console.print("fuzz: call \(index): hypercall \(c.number) sub \(c.sub) (\(hex8: c.a1), \(hex8: c.a2), \(hex8: c.a3), \(hex8: c.a4), \(hex8: c.a5))")
    }

    static func run(seed: UInt32, calls total: UInt32) {
        var r = SplitMix64(seed: UInt64(seed) | 0xF022_0000_0000_0000)
        if let failed = FuzzSpace.setUp(&r) {
            console.print("fuzz: setting up failed: \(failed)")
            StartOfDay.shutdown(.crash)
        }
        console.print("fuzz: scratch \(hex8: FuzzSpace.scratch), guard \(hex8: FuzzSpace.guardPage), read-only \(hex8: FuzzSpace.readOnlyPage), sacrificial \(hex8: FuzzSpace.sacrificialPage) (frame \(hex: FuzzSpace.sacrificialMFN)), tables at \(hex8: FuzzSpace.pageTableVA)")
        // Events stay masked while fuzzing: a fuzzed call may point the event callback anywhere
        // until the repair after it, and an upcall in between would land there. Block unmasks
        // (the PV ABI's atomic unmask-and-wait), so each call is followed by masking again.
        StartOfDay.sharedInfo.upcallMask = 1
        let progressEvery: UInt32 = 100_000
        while issued < total {
            index &+= 1
            if index & 255 == 0 { FuzzSpace.fillRandom(FuzzSpace.scratch, FuzzSpace.scratchPages * FuzzSpace.pageSize, &r) }
            let number = r.below(64)
            let sub = r.below(64)
            let c: Call
            switch Builder.build(number, sub, &r, inMulticall: false) {
            case .skip(let reason): Histogram.skip(reason); continue
            case .call(let built): c = built
            }
            if avoids(number, sub) { Histogram.skip(.avoided); continue }
            if c.needsTimer { armTimer() }
            if (index >= traceFrom && index - traceFrom < traceLength) || c.number == traceNumber { trace(c) }
            let rc = fuzz_hypercall(c.number, c.a1, c.a2, c.a3, c.a4, c.a5)
            StartOfDay.sharedInfo.upcallMask = 1
            Histogram.record(rc)
            issued += 1
            if c.repair != 0 { repair(c, rc) }
            if issued % progressEvery == 0 { endLine(); console.print("fuzz: \(issued) calls issued (draw \(index))") }
        }
    }
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let console = Fuzz.console
    StartOfDay.runOrCrash(startInfo, "fuzz")
    FuzzSpace.selfID = StartOfDay.startInfo.isPrivileged ? 0 : 0x7FF0
    let seed = StartOfDay.number("seed") ?? UInt32(truncatingIfNeeded: guest_rdtsc() ^ (guest_rdtsc() >> 29))
    let total = StartOfDay.number("calls") ?? 1_000_000
    Fuzz.parseAvoidList()
    if let t = StartOfDay.number("trace") { Fuzz.traceFrom = t }
    if let t = StartOfDay.number("tracenr") { Fuzz.traceNumber = t }
    console.print("fuzz: seed \(seed), \(total) calls, as \(StartOfDay.startInfo.isPrivileged ? "a privileged domain" : "an unprivileged domain")\(Fuzz.avoidList.isEmpty ? "" : ", AVOIDING some calls (avoid= on the command line)")")
    let start = GuestTime.now()
    Fuzz.run(seed: seed, calls: total)
    let elapsed = (GuestTime.now() &- start) / 1_000_000
    Fuzz.endLine()
    let roIntact = FuzzSpace.checksum(FuzzSpace.readOnlyPage, FuzzSpace.pageSize) == FuzzSpace.readOnlyChecksum
    console.print("fuzz: seed \(seed)")
    console.print("fuzz: calls issued \(Fuzz.issued) in \(elapsed) ms of system time, \(Fuzz.index) drawn, \(Histogram.totalSkipped) skipped")
    Histogram.report(console)
    console.print("fuzz: the read-only page is unchanged: \(roIntact)")
    console.print("fuzz: done")
    StartOfDay.shutdown(roIntact ? .poweroff : .crash)
}

@_cdecl("guest_trap_dispatch")
public func guestTrapDispatch(_ raw: UnsafeMutableRawPointer) {
    let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
    if frame.pointee.vector == 256 { GuestEvents.drain(); return }
    let resume = guest_take_resume()
    if resume != 0 { frame.pointee.eip = resume; return }
    Fuzz.endLine()
    Fuzz.console.print("fuzz: unexpected trap \(frame.pointee.vector) error \(hex: frame.pointee.errorCode) at \(hex8: frame.pointee.eip) after call \(Fuzz.index)")
    StartOfDay.shutdown(.crash)
}

@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) {
    Fuzz.endLine()
    Fuzz.console.print("fuzz: failsafe callback after call \(Fuzz.index)")
    StartOfDay.shutdown(.crash)
}
