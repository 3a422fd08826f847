// DebugKeyDumps.swift: the hypervisor's side of Xen's debug keys. Serial.receive feeds every typed
// byte through ApusCore's ConsoleInputSwitch; dom0's bytes go to its input buffer, keys wait here and
// are answered at the end of the UART interrupt (or of a console_io read): h help, q domains and
// vCPUs with their registers, r run queue and credits, e event channels, m frames by owner and type,
// g grant tables, d the hypervisor's stack. Each dump only reads, prints with the "(apus)" prefix
// whatever loglvl= says, and returns: guests stop no longer than the printing. Line formats are
// ApusCore's DebugDump (host-tested).

import ApusCore
import PVABI

enum DebugKeys {
    static var input = ConsoleInputSwitch()
    /// Keys and switch announcements waiting to be answered (typed faster than answered: the rest are dropped).
    private static var pending = InlineArray<16, UInt8>(repeating: 0)
    private static var pendingCount = 0
    /// Marks in `pending` for the two announcements (never keys: both are below 0x20 but not Ctrl-A).
    private static let toHypervisor: UInt8 = 0x02, toDom0: UInt8 = 0x03

    /// One typed byte; false when it is not dom0's (a key, or part of the switch sequence).
    static func route(_ byte: UInt8, toDom0 store: (UInt8) -> Void) {
        input.feed(byte) { delivery in
            switch delivery {
            case .toDom0(let b): store(b)
            case .key(let k): queue(k)
            case .switched(let to): queue(to == .hypervisor ? toHypervisor : toDom0)
            }
        }
    }

    private static func queue(_ b: UInt8) {
        guard pendingCount < 16 else { return }
        pending[pendingCount] = b
        pendingCount += 1
    }

    /// A dump is being printed: a UART interrupt taken meanwhile only queues its keys.
    private static var answering = false

    /// Answers the keys typed since the last call (and those typed while answering them).
    static func answerPending() {
        guard !answering else { return }
        answering = true
        var i = 0
        while i < pendingCount {
            answer(pending[i])
            i += 1
        }
        pendingCount = 0
        answering = false
    }

    private static func answer(_ b: UInt8) {
        if b == toHypervisor { Log.always(DebugDump.switched(.hypervisor)); return }
        if b == toDom0 { Log.always(DebugDump.switched(.dom0)); return }
        guard let key = DebugKey(rawValue: b) else {
            if b != 10 && b != 13 { Log.always(DebugDump.unknown(b)) }
            return
        }
        Log.always(DebugDump.pressed(key))
        switch key {
        case .help: for k in DebugKey.allCases { Log.always(DebugDump.help(k)) }
        case .domains: domains()
        case .runQueue: runQueue()
        case .events: events()
        case .memory: memory()
        case .grants: grants()
        case .stack: stack()
        }
    }

    static func stateName(_ d: Domain) -> StaticString {
        if Domains.isRunning(d) { return "running" }
        switch d.state {
        case .running: return d.paused ? "paused" : d.allBlocked ? "blocked" : "runnable"
        case .blocked: return d.paused ? "paused" : "blocked"
        case .shutdown: return "shutdown"
        case .crashed: return "crashed"
        case .dead: return "dying"
        }
    }

    private static func withName<R>(_ d: Domain, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var name = d.name
        var n = 0
        while n < 16 && name[n] != 0 { n += 1 }
        return withUnsafeBytes(of: &name) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
        }
    }

    private static func domains() {
        for d in Domains.all {
            withName(d) { name in
                Log.always(DebugDump.domain(id: d.id, name: name, state: stateName(d), privileged: d.privileged,
                                            paused: d.paused, pages: UInt64(d.frames.count), cpuTimeNs: d.cpuTime))
            }
            for v in d.vcpus where v.initialised {
                let pending = v.info.load(fromByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
                let mask = v.info.load(fromByteOffset: VcpuInfo.evtchnUpcallMaskOffset, as: UInt8.self)
                Log.always(DebugDump.vcpu(v.id, upcallPending: pending, upcallMask: mask, eventCallback: v.eventCallback.eip,
                                          failsafeCallback: v.failsafeCallback.eip, timerDeadline: v.timerDeadline))
                // The running vCPU's registers are in the frame its last entry to ring 0 pushed.
                let frame = Domains.isRunning(d) && v === d.vcpu ? ContextSwitch.guestFrame.pointee : v.saved
                DebugDump.registers(frame) { Log.always($0) }
            }
        }
    }

    private static func runQueue() {
        Log.always("Scheduler: credit (weights and caps, 30 ms period); * marks the running domain")
        for d in Domains.all {
            if let e = Scheduler.credit.entry(d.id) { Log.always(DebugDump.credit(e, running: Domains.isRunning(d))) }
            else { Log.always("    d\(UInt32(d.id)) is not on the run queue (\(stateName(d)))") }
        }
    }

    private static func events() {
        for d in Domains.all {
            guard let table = Events.system.table(d.id) else { continue }
            Log.always("Event channel information for domain \(UInt32(d.id)): \(UInt32(truncatingIfNeeded: table.portsInUse)) ports in use")
            if let fifo = d.fifo {
                Log.always("    FIFO ABI: \(UInt32(fifo.pages.count)) event-array pages; VCPU 0's control block at frame \(hex: fifo.controls[0].frame)")
            }
            let page = d.eventPage
            var port: UInt32 = 1
            while port < table.portLimit {
                if let c = table.channel(port), c.state != .free {
                    if let fifo = d.fifo {
                        // A port without its word yet reads masked, as Xen's is_masked says.
                        let bits = FifoEvents.bits(FifoMappedWords(state: fifo), port: port)
                        Log.always(DebugDump.port(port, c, pending: bits?.pending ?? false, masked: bits?.masked ?? true))
                    } else {
                        let bits = TwoLevelEvents.bits(page, port: port)
                        Log.always(DebugDump.port(port, c, pending: bits.pending, masked: bits.masked))
                    }
                }
                port += 1
            }
        }
    }

    private static func memory() {
        Log.always("Frames: \(Machine.frames.count) in the frame table, by owner and type")
        count(.free)
        count(.hypervisor)
        count(.bootModule)
        for d in Domains.all { count(.domain(d.id)) }
    }

    private static func count(_ owner: FrameOwner) {
        guard let raw = owner.raw else { return }
        var c = DebugDump.FrameCounts()
        var frame: UInt32 = 0
        let total = Machine.frames.count
        while frame < total {
            let r = Machine.frames.record(frame)
            if r.ownerRaw == raw { c.add(PageType(rawValue: r.typeRaw) ?? .none) }
            frame += 1
        }
        Log.always(DebugDump.frames(owner, c))
    }

    private static func grants() {
        for d in Domains.all {
            if let t = Grants.system.table(d.id) { Log.always(DebugDump.grants(d.id, t)) }
        }
    }

    /// Xen's way without frame pointers: every word on the hypervisor stack, from here to its top,
    /// that points into the hypervisor's text is a return address (or an old one): printed innermost first.
    private static func stack() {
        let sym = Exceptions.symbols
        var marker: UInt32 = 0
        let here = withUnsafeMutablePointer(to: &marker) { UInt32(UInt(bitPattern: $0)) }
        guard here >= sym.bootStackBottom, here < sym.bootStackTop else {
            Log.always("    the stack at \(hex8: here) is not the hypervisor's boot stack; no trace")
            return
        }
        Log.always("Hypervisor stack from \(hex8: here) to \(hex8: sym.bootStackTop) (addr2line -f -e build/apus.elf ADDRESS):")
        var at = here & ~3
        var depth = 0
        while at < sym.bootStackTop && depth < 40 {
            let word = pointer(to: UInt32.self, at: at).pointee
            if word >= sym.textStart && word < sym.textEnd {
                Log.always(DebugDump.stackFrame(depth, eip: word, symbol: nil, offset: 0))
                depth += 1
            }
            at += 4
        }
    }
}
