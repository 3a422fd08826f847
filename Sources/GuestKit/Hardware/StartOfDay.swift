// StartOfDay.swift: what every PV guest kernel does first, through Xen's interface only: map
// shared_info with update_va_mapping, register its trap table (GuestKit's stubs for vectors
// 0-19 and 0x80), its event and failsafe callbacks, and its ring-3 trap stack. Guest images only.

import ApusCore
import PVABI

public enum StartOfDay {
    public static var startInfo = StartInfoView(0x1000)
    public static var sharedInfo = SharedInfoView(0x1000)

    /// Runs the whole start of day; the first failing step's name and result, or nil.
    public static func run(_ startInfoAddress: UInt32) -> (StaticString, Int32)? {
        startInfo = StartInfoView(startInfoAddress)
        let steps: [(StaticString, () -> Int32)] = [
            ("map shared_info", mapSharedInfo),
            ("set_trap_table", installTraps),
            ("set_callbacks", installCallbacks),
            ("stack_switch", { xen.stackSwitch(ss: UInt32(Selector.flatRing1DS), esp: guest_symbol(GuestSymbol.kernelTrapStackTop)) }),
        ]
        for (name, step) in steps {
            let rc = step()
            if rc != 0 { return (name, rc) }
        }
        return nil
    }

    /// The start of day for a domU: on failure it says which step failed and shuts down crashed.
    public static func runOrCrash(_ startInfoAddress: UInt32, _ name: StaticString) {
        if let (step, rc) = run(startInfoAddress) {
            GuestConsole(xen).print("\(name): start of day failed at \(step) with \(rc)")
            shutdown(.crash)
        }
    }

    public static func mapSharedInfo() -> Int32 {
        let window = guest_symbol(GuestSymbol.sharedInfoWindow)
        let pte = UInt64(startInfo.sharedInfoMachineAddress) | 0x63        // present, rw, accessed, dirty
        let rc = xen.updateVAMapping(window, pte, flags: UpdateVAFlags.invalidatePage)
        if rc == 0 { sharedInfo = SharedInfoView(window) }
        return rc
    }

    public static func installTraps() -> Int32 {
        var table = TrapTableBuilder()
        for vector in 0..<20 where vector != 2 && vector != 9 && vector != 15 {
            // Breakpoint and overflow may be raised from ring 3 with int3/into, as on native x86.
            let dpl: UInt8 = (vector == 3 || vector == 4) ? 3 : 0
            table.add(vector: UInt8(vector), dpl: dpl, cs: Selector.flatRing1CS, address: guest_trap_stub_address(UInt32(vector)))
        }
        table.add(vector: 0x80, dpl: 3, cs: Selector.flatRing1CS, address: guest_trap_stub_address(0x80))
        let bytes = table.terminated()
        return bytes.withUnsafeBufferPointer { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress))) }
    }

    public static func installCallbacks() -> Int32 {
        let cs = UInt32(Selector.flatRing1CS)
        return xen.setCallbacks(eventCS: cs, eventEIP: guest_event_callback_address(),
                                failsafeCS: cs, failsafeEIP: guest_failsafe_callback_address())
    }

    /// The command line word `key=value`, or nil.
    public static func argument(_ key: StaticString) -> UnsafeBufferPointer<UInt8>? {
        let line = startInfo.commandLine
        var i = 0
        let k = key.withUTF8Buffer { Array($0) }
        while i < line.count {
            while i < line.count && line[i] == 32 { i += 1 }
            let start = i
            while i < line.count && line[i] != 32 { i += 1 }
            let word = UnsafeBufferPointer(rebasing: line[start..<i])
            if word.count > k.count, word[k.count] == 61, zip(word.prefix(k.count), k).allSatisfy({ $0 == $1 }) {
                return UnsafeBufferPointer(rebasing: word[(k.count + 1)...])
            }
        }
        return nil
    }

    /// A decimal command-line argument.
    public static func number(_ key: StaticString) -> UInt32? {
        guard let text = argument(key), !text.isEmpty else { return nil }
        var v: UInt32 = 0
        for c in text {
            guard c >= 48 && c <= 57 else { return nil }
            v = v &* 10 &+ UInt32(c - 48)
        }
        return v
    }

    public static func shutdown(_ reason: ShutdownReason) -> Never {
        var record = HypercallRecord(stride: SchedShutdownLayout.size)
        record.set(reason.rawValue, at: SchedShutdownLayout.reasonOffset)
        _ = record.withAddress { xen.schedOp(.shutdown, $0) }
        while true { _ = xen.schedOp(.block) }
    }
}

/// Event channels from the guest's side: binding, sending, and draining the 2-level bitmaps in
/// the event callback; and waiting without losing a wake-up (mask, check, block).
public enum GuestEvents {
    public static var handler: (UInt32) -> Void = { _ in }

    /// One event_channel_op on `record`, a structure laid out by its PVABI Evtchn*Layout.
    static func op(_ cmd: EventChannelOp, _ record: inout HypercallRecord) -> Int32 {
        record.withAddress { xen.eventChannelOp(cmd.rawValue, $0) }
    }

    /// Port bound to a VIRQ on vCPU 0, or a negative errno.
    public static func bindVirq(_ virq: UInt32) -> Int32 {
        var r = HypercallRecord(stride: EvtchnBindVirqLayout.size)
        r.set(virq, at: EvtchnBindVirqLayout.virqOffset)
        r.set(UInt32(0), at: EvtchnBindVirqLayout.vcpuOffset)
        let rc = op(.bindVirq, &r)
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: EvtchnBindVirqLayout.portOffset)) : rc
    }
    /// A new unbound port that domain `remote` may bind to.
    public static func allocUnbound(remote: UInt16) -> Int32 {
        var r = HypercallRecord(stride: EvtchnAllocUnboundLayout.size)
        r.set(SpecialDomainID.selfID, at: EvtchnAllocUnboundLayout.domOffset)
        r.set(remote, at: EvtchnAllocUnboundLayout.remoteDomOffset)
        let rc = op(.allocUnbound, &r)
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: EvtchnAllocUnboundLayout.portOffset)) : rc
    }
    public static func bindInterdomain(remote: UInt16, port: UInt32) -> Int32 {
        var r = HypercallRecord(stride: EvtchnBindInterdomainLayout.size)
        r.set(remote, at: EvtchnBindInterdomainLayout.remoteDomOffset)
        r.set(port, at: EvtchnBindInterdomainLayout.remotePortOffset)
        let rc = op(.bindInterdomain, &r)
        return rc == 0 ? Int32(bitPattern: r.get(UInt32.self, at: EvtchnBindInterdomainLayout.localPortOffset)) : rc
    }
    /// EVTCHNOP_send: struct evtchn_send is one u32 (EvtchnPortLayout), so it is a word on the stack,
    /// as Linux's and Mini-OS's notify paths make it, not a heap record: the send is the hot path of
    /// every ring and event ping-pong (a HypercallRecord cost about 450 instructions of allocation
    /// and release per send).
    public static func send(_ port: UInt32) -> Int32 {
        precondition(EvtchnPortLayout.size == 4 && EvtchnPortLayout.portOffset == 0, "evtchn_send is one u32")
        var record = port
        return withUnsafeMutablePointer(to: &record) {
            xen.eventChannelOp(EventChannelOp.send.rawValue, UInt32(truncatingIfNeeded: UInt(bitPattern: $0)))
        }
    }
    public static func close(_ port: UInt32) -> Int32 {
        var r = HypercallRecord(stride: EvtchnPortLayout.size)
        r.set(port, at: EvtchnPortLayout.portOffset)
        return op(.close, &r)
    }

    /// Called for the event upcall (GuestKit's pseudo-vector 256): every pending, unmasked port
    /// is cleared and handed to `handler`. vCPU 0's only, with its vcpu_info in shared_info: another
    /// vCPU's upcall (or one after register_vcpu_info) must clear the flag in ITS OWN vcpu_info, or the
    /// flag stays raised and the upcall is entered again on every return (the vCPU never gets out of
    /// it; Guests/Smp/SmpUpcalls.swift has a per-vCPU callback).
    public static func drain() {
        let si = StartOfDay.sharedInfo.base
        si.storeBytes(of: 0, toByteOffset: SharedInfo.vcpuInfoOffset + VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        let selPtr = si.advanced(by: SharedInfo.vcpuInfoOffset + VcpuInfo.evtchnPendingSelOffset).assumingMemoryBound(to: UInt32.self)
        var selector = guest_xchg32(selPtr, 0)
        while selector != 0 {
            let word = UInt32(selector.trailingZeroBitCount)
            selector &= selector - 1
            let pending = si.advanced(by: SharedInfo.evtchnPendingOffset + Int(word) * 4).assumingMemoryBound(to: UInt32.self)
            let mask = si.load(fromByteOffset: SharedInfo.evtchnMaskOffset + Int(word) * 4, as: UInt32.self)
            var bits = pending.pointee & ~mask
            while bits != 0 {
                let bit = UInt32(bits.trailingZeroBitCount)
                bits &= bits - 1
                if guest_test_and_clear_bit(pending, bit) != 0 { handler(word * 32 + bit) }
            }
        }
    }

    /// Clears one port's pending bit without handling it (e.g. the event bind_interdomain raises).
    public static func clearPending(_ port: UInt32) {
        let si = StartOfDay.sharedInfo.base
        let pending = si.advanced(by: SharedInfo.evtchnPendingOffset).assumingMemoryBound(to: UInt32.self)
        _ = guest_test_and_clear_bit(pending, port)
    }

    /// Clears whatever is pending without handling it (e.g. the event bind_interdomain raises).
    public static func discardPending() {
        let saved = handler
        handler = { _ in }
        drain()
        handler = saved
    }

    /// Waits until `condition` holds, blocking in the hypervisor meanwhile. Events are masked
    /// while the condition is checked, and SCHEDOP_block unmasks them atomically, so an event
    /// that arrives in between is never lost.
    public static func wait(until condition: () -> Bool) {
        while true {
            StartOfDay.sharedInfo.upcallMask = 1
            if condition() { StartOfDay.sharedInfo.upcallMask = 0; return }
            _ = xen.schedOp(.block)
        }
    }

    /// Events on: pending ones are delivered at the next return from the hypervisor.
    public static func enable() { StartOfDay.sharedInfo.upcallMask = 0 }
}

/// Guest-side system time: vcpu_time_info read with the version protocol, plus the TSC.
public enum GuestTime {
    public static func now() -> UInt64 {
        let info = UnsafeRawPointer(StartOfDay.sharedInfo.base.advanced(by: SharedInfo.vcpuInfoOffset + VcpuInfo.timeOffset))
        // The version protocol: retry while the hypervisor is mid-update (odd) or changed it.
        while true {
            if let t = VcpuTimeRecord.guestSystemTime(from: info, tsc: guest_rdtsc()) { return t }
        }
    }
    /// set_timer_op: VIRQ_TIMER at an absolute system time.
    public static func setTimer(_ deadline: UInt64) -> Int32 {
        xen.setTimerOp(deadline)
    }
}
