// DebugKeys.swift: Xen's debug keys on the serial line, decided without touching hardware: the
// Ctrl-A-three-times switch of typed input between dom0 and the hypervisor, the keys and their help
// text, and the line each dump prints, built from plain values. It never reads a domain or the
// machine and never allocates: the hypervisor calls it from its serial interrupt.

/// Who gets what is typed on the serial line.
public enum ConsoleInputTarget: Equatable, Sendable {
    case dom0, hypervisor

    public var name: StaticString {
        switch self {
        case .dom0: return "DOM0"
        case .hypervisor: return "Apus"
        }
    }
}

/// What one typed byte becomes.
public enum ConsoleInputDelivery: Equatable, Sendable {
    /// Typed input for dom0's console_io read.
    case toDom0(UInt8)
    /// A debug key for the hypervisor.
    case key(UInt8)
    /// Input now goes to this side: the hypervisor announces it.
    case switched(ConsoleInputTarget)
}

/// Xen's serial_rx: Ctrl-A is eaten in groups of three, each group switching input; fewer than
/// three followed by another byte are passed on, as typed, before it.
public struct ConsoleInputSwitch: Sendable {
    public static let switchByte: UInt8 = 0x01
    public private(set) var target = ConsoleInputTarget.dom0
    /// Ctrl-A bytes seen since the last other byte or switch (0, 1 or 2).
    public private(set) var held = 0

    public init() {}

    public mutating func feed(_ byte: UInt8, _ deliver: (ConsoleInputDelivery) -> Void) {
        if byte == Self.switchByte {
            held += 1
            if held == 3 {
                held = 0
                target = target == .dom0 ? .hypervisor : .dom0
                deliver(.switched(target))
            }
            return
        }
        while held > 0 { held -= 1; pass(Self.switchByte, deliver) }
        pass(byte, deliver)
    }

    private func pass(_ byte: UInt8, _ deliver: (ConsoleInputDelivery) -> Void) {
        deliver(target == .dom0 ? .toDom0(byte) : .key(byte))
    }
}

/// The keys the hypervisor answers when input is its own.
public enum DebugKey: UInt8, CaseIterable, Sendable {
    case help = 104        // h
    case domains = 113     // q
    case runQueue = 114    // r
    case events = 101      // e
    case memory = 109      // m
    case grants = 103      // g
    case stack = 100       // d

    /// What the key dumps, as Xen's help and "'k' pressed -> ..." lines say it.
    public var action: StaticString {
        switch self {
        case .help: return "showing installed handlers"
        case .domains: return "dump domain (and guest debug) info"
        case .runQueue: return "dump run queues and credits"
        case .events: return "dump evtchn info"
        case .memory: return "dump frame counts by owner and type"
        case .grants: return "dump grant table info"
        case .stack: return "dump the hypervisor's stack"
        }
    }
}

public enum DebugDump {
    /// The switch announcement, as Xen prints it.
    public static func switched(_ to: ConsoleInputTarget) -> LogLine {
        "*** Serial input to \(to.name) (type 'CTRL-a' three times to switch input)"
    }

    public static func pressed(_ key: DebugKey) -> LogLine {
        var l = LogLine("'")
        l.append(byte: key.rawValue)
        l.append("' pressed -> ")
        l.append(key.action)
        return l
    }

    /// A byte that names no key: said once, with the way to the list.
    public static func unknown(_ byte: UInt8) -> LogLine {
        var l = LogLine("key ")
        l.append(hex: UInt64(byte), digits: 2)
        l.append(" has no handler; 'h' lists them")
        return l
    }

    /// One line of the help: " key 'q' (ascii '71') => dump domain (and guest debug) info".
    public static func help(_ key: DebugKey) -> LogLine {
        var l = LogLine(" key '")
        l.append(byte: key.rawValue)
        l.append("' (ascii '")
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { h in l.append(byte: h[Int(key.rawValue >> 4)]); l.append(byte: h[Int(key.rawValue & 15)]) }
        l.append("') => ")
        l.append(key.action)
        return l
    }

    /// `q`: a domain's general line.
    public static func domain(id: UInt16, name: UnsafeBufferPointer<UInt8>, state: StaticString, privileged: Bool,
                              paused: Bool, pages: UInt64, cpuTimeNs: UInt64) -> LogLine {
        "General information for domain \(UInt32(id)) (\(text: name)): \(state), privileged \(privileged), paused \(paused), nr_pages \(pages), cpu time \(cpuTimeNs / 1_000_000) ms"
    }

    /// `q`: its vCPU's line (upcall bits, callbacks, timer).
    public static func vcpu(_ index: UInt32, upcallPending: UInt8, upcallMask: UInt8, eventCallback: UInt32,
                            failsafeCallback: UInt32, timerDeadline: UInt64) -> LogLine {
        "    VCPU\(index): upcall_pend \(hex: upcallPending) upcall_mask \(hex: upcallMask) event_callback \(hex8: eventCallback) failsafe \(hex8: failsafeCallback) timer \(timerDeadline)"
    }

    /// `q` and `d`: a register frame in three lines.
    public static func registers(_ f: TrapFrame, _ emit: (LogLine) -> Void) {
        let esp = f.ring == 0 ? f.espAtPushad &+ 20 : f.esp
        emit("      eip \(hex8: f.eip) cs \(hex: f.cs & 0xFFFF) eflags \(hex8: f.eflags) esp \(hex8: esp) ss \(hex: f.ring == 0 ? 0 : f.ss & 0xFFFF) ring \(f.ring)")
        emit("      eax \(hex8: f.eax) ebx \(hex8: f.ebx) ecx \(hex8: f.ecx) edx \(hex8: f.edx)")
        emit("      esi \(hex8: f.esi) edi \(hex8: f.edi) ebp \(hex8: f.ebp) ds \(hex: f.ds & 0xFFFF) es \(hex: f.es & 0xFFFF) fs \(hex: f.fs & 0xFFFF) gs \(hex: f.gs & 0xFFFF)")
    }

    /// `e`: one port in use: its state, the vCPU it notifies, and its pending and mask bits.
    public static func port(_ port: UInt32, _ channel: EventChannel, pending: Bool, masked: Bool) -> LogLine {
        var l: LogLine = "    port \(port) [p=\(pending ? 1 : 0 as Int) m=\(masked ? 1 : 0 as Int)] vcpu \(channel.notifyVCPU): "
        switch channel.state {
        case .free: l.append("free")
        case .unbound(let remote): l.append("unbound, for d"); l.append(decimal: UInt64(remote))
        case .interdomain(let d, let p):
            l.append("interdomain, to d"); l.append(decimal: UInt64(d)); l.append(" port "); l.append(decimal: UInt64(p))
        case .virq(let v): l.append("virq "); l.append(decimal: UInt64(v))
        case .ipi(let v): l.append("ipi, vcpu "); l.append(decimal: UInt64(v))
        case .pirq(let p): l.append("pirq "); l.append(decimal: UInt64(p))
        }
        return l
    }

    /// `r`: one domain in the credit scheduler.
    public static func credit(_ e: CreditSchedulerEntry, running: Bool) -> LogLine {
        let priority: StaticString
        switch e.priority {
        case .over: priority = "over"
        case .under: priority = "under"
        case .boost: priority = "boost"
        }
        let credit = e.credit / 1000
        return "    d\(UInt32(e.id))\(running ? "*" : " ") weight \(UInt32(e.weight)) cap \(UInt32(e.cap)) credit \(Int(truncatingIfNeeded: credit)) us \(priority) runnable \(e.runnable) used \(e.usedThisPeriodNs / 1000) us this period, \(e.totalRunNs / 1_000_000) ms in all"
    }

    /// How `m` counts the frames of one owner, by page type.
    public struct FrameCounts: Equatable, Sendable {
        public var total: UInt32 = 0
        public var byType = InlineArray<6, UInt32>(repeating: 0)
        public init() {}
        public mutating func add(_ type: PageType) { total &+= 1; byType[Int(type.rawValue) % 6] &+= 1 }
        public static func == (a: FrameCounts, b: FrameCounts) -> Bool {
            guard a.total == b.total else { return false }
            for i in 0..<6 where a.byType[i] != b.byType[i] { return false }
            return true
        }
    }

    /// `m`: one owner's line.
    public static func frames(_ owner: FrameOwner, _ c: FrameCounts) -> LogLine {
        var l = LogLine("    ")
        switch owner {
        case .free: l.append("free")
        case .hypervisor: l.append("hypervisor")
        case .notRAM: l.append("not RAM")
        case .bootModule: l.append("boot modules")
        case .domain(let id): l.append("d"); l.append(decimal: UInt64(id))
        }
        l.append(": ")
        l.append(decimal: UInt64(c.total))
        l.append(" frames (")
        l.append(decimal: UInt64(c.total) * 4)
        let rest: LogLine = " KiB): none \(c.byType[0]), writable \(c.byType[1]), l1 \(c.byType[2]), l2 \(c.byType[3]), l3 \(c.byType[4]), descriptor \(c.byType[5])"
        for i in 0..<rest.count { l.append(byte: rest.bytes[i]) }
        return l
    }

    /// `g`: one domain's grant table.
    public static func grants(_ id: UInt16, _ t: GrantTableState) -> LogLine {
        "    d\(UInt32(id)): grant table \(UInt32(truncatingIfNeeded: t.frames.count)) of \(t.maxFrames) frames, \(UInt32(truncatingIfNeeded: t.active.count)) entries active, its grants mapped \(t.pins) times, it maps \(t.mappingCount) of others'"
    }

    /// `d`: one return address of the hypervisor's stack, with the symbol it falls in when known.
    public static func stackFrame(_ depth: Int, eip: UInt32, symbol: UnsafeBufferPointer<UInt8>?, offset: UInt32) -> LogLine {
        var l: LogLine = "    #\(depth) [<\(hex8: eip)>]"
        if let symbol { l.append(byte: 32); for b in symbol { l.append(byte: (b >= 32 && b < 127) ? b : 63) }; l.append("+"); l.append(hex: UInt64(offset), digits: 1) }
        return l
    }
}
