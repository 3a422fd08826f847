// TrapHypercalls.swift: how a guest kernel tells the hypervisor where its handlers are and how it
// returns from them: set_trap_table (0), set_callbacks (4), callback_op (30), stack_switch (3),
// fpu_taskswitch (5) and iret (23). Each decodes and validates everything before changing state;
// no handler or stack may point into the hypervisor area, no code selector may be ring 0.

import ApusCore
import PVABI

enum TrapHypercalls {
    static let maxTrapEntries = 256

    /// A code selector a guest may name for its handlers: the flat ring-1/ring-3 selectors, or
    /// one of its own GDT/LDT entries; RPL 0 is raised to 1 (a guest kernel runs in ring 1).
    static func guestCodeSelector(_ raw: UInt32) -> UInt16? {
        let selector = UInt16(truncatingIfNeeded: raw)
        guard raw <= 0xFFFF else { return nil }
        let fixed = selector & 3 == 0 ? selector | 1 : selector
        if fixed == Selector.flatRing1CS || fixed == Selector.flatRing3CS { return fixed }
        if fixed & 4 != 0 { return fixed }                                   // LDT: guest-owned
        guard Int(fixed >> 3) < Selector.firstReservedGDTEntry, fixed >> 3 != 0 else { return nil }
        return fixed
    }

    static func guestAddress(_ eip: UInt32) -> Bool { eip < XenLayout.hypervisorVirtStart }

    // MARK: set_trap_table

    static func setTrapTable(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        if a.a1 == 0 {
            for v in 0..<256 { d.vcpu.trapTable[v] = TrapInfo.empty(vector: UInt8(v)) }
            return .ok
        }
        // Decode: read every entry up to the terminator and check it, changing nothing yet.
        var decoded: [TrapInfo] = []
        var va = a.a1
        while true {
            guard decoded.count < maxTrapEntries else { return .refused(.EINVAL, "trap table has no terminating entry within 256 entries") }
            guard let low = GuestMemory.read32(va), let high = GuestMemory.read32(va + 4) else {
                return .refused(.EFAULT, "trap table is not readable guest memory")
            }
            let entry = TrapInfo(low: low, high: high)
            if entry.address == 0 { break }
            guard guestAddress(entry.address) else { return .refused(.EINVAL, "trap handler address lies in the hypervisor area") }
            guard let cs = guestCodeSelector(UInt32(entry.cs)) else { return .refused(.EINVAL, "trap handler code selector is not the guest's") }
            decoded.append(TrapInfo(vector: entry.vector, flags: entry.flags, cs: cs, address: entry.address))
            va &+= 8
        }
        for entry in decoded { d.vcpu.trapTable[Int(entry.vector)] = entry }
        return .ok
    }

    // MARK: callbacks

    static func setCallbacks(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let eventCS = guestCodeSelector(a.a1), let failsafeCS = guestCodeSelector(a.a3) else {
            return .refused(.EINVAL, "callback code selector is not the guest's")
        }
        guard guestAddress(a.a2), guestAddress(a.a4) else { return .refused(.EINVAL, "callback address lies in the hypervisor area") }
        d.vcpu.eventCallback = GuestCallback(cs: UInt32(eventCS), eip: a.a2)
        d.vcpu.failsafeCallback = GuestCallback(cs: UInt32(failsafeCS), eip: a.a4)
        return .ok
    }

    static func callbackOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = CallbackOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown callback_op command") }
        switch op {
        case .register:
            guard let bytes = GuestMemory.readBytes(a.a2, count: CallbackRegisterLayout.size) else {
                return .refused(.EFAULT, "callback_register is not readable guest memory")
            }
            let type = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
            let cs = word(bytes, CallbackRegisterLayout.csOffset)
            let eip = word(bytes, CallbackRegisterLayout.eipOffset)
            guard let callbackType = CallbackType(rawValue: type) else { return .refused(.EINVAL, "unknown callback type") }
            guard let selector = guestCodeSelector(cs) else { return .refused(.EINVAL, "callback code selector is not the guest's") }
            guard guestAddress(eip) else { return .refused(.EINVAL, "callback address lies in the hypervisor area") }
            let callback = GuestCallback(cs: UInt32(selector), eip: eip)
            switch callbackType {
            case .event: d.vcpu.eventCallback = callback
            case .failsafe: d.vcpu.failsafeCallback = callback
            case .syscall, .syscall32: d.vcpu.syscallCallback = callback
            case .sysenter, .sysenterDeprecated: d.vcpu.sysenterCallback = callback
            case .nmi: d.vcpu.nmiCallback = callback
            }
            return .ok
        case .unregister:
            guard let bytes = GuestMemory.readBytes(a.a2, count: 4) else { return .refused(.EFAULT, "callback_unregister is not readable") }
            guard let callbackType = CallbackType(rawValue: UInt16(bytes[0]) | UInt16(bytes[1]) << 8) else {
                return .refused(.EINVAL, "unknown callback type")
            }
            switch callbackType {
            case .event: return .refused(.EINVAL, "the event callback cannot be unregistered")
            case .failsafe: d.vcpu.failsafeCallback = GuestCallback()
            case .syscall, .syscall32: d.vcpu.syscallCallback = GuestCallback()
            case .sysenter, .sysenterDeprecated: d.vcpu.sysenterCallback = GuestCallback()
            case .nmi: d.vcpu.nmiCallback = GuestCallback()
            }
            return .ok
        }
    }

    private static func word(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    // MARK: stack_switch, fpu_taskswitch

    static func stackSwitch(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let ss = UInt16(truncatingIfNeeded: a.a1)
        guard a.a1 <= 0xFFFF, ss & 3 != 0 || ss == 0 else { return .refused(.EINVAL, "stack selector is not a guest selector") }
        let fixed = ss & 3 == 0 ? ss | 1 : ss
        guard fixed == Selector.flatRing1DS || fixed & 4 != 0 || Int(fixed >> 3) < Selector.firstReservedGDTEntry else {
            return .refused(.EINVAL, "stack selector is one of the hypervisor's")
        }
        guard a.a2 <= XenLayout.hypervisorVirtStart else { return .refused(.EINVAL, "kernel stack lies in the hypervisor area") }
        d.vcpu.kernelSS = UInt32(fixed)
        d.vcpu.kernelESP = a.a2
        return .ok
    }

    static func fpuTaskswitch(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        d.vcpu.taskSwitched = a.a1 != 0
        FPU.applyTaskSwitched(d)
        return .ok
    }

    // MARK: iret

    /// The guest's stack holds [eax, eip, cs, eflags] and, returning to ring 3, [esp, ss].
    static func iret(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> HypercallOutcome {
        let sp = frame.pointee.esp
        guard let eax = GuestMemory.read32(sp), let eip = GuestMemory.read32(sp + 4),
              let cs = GuestMemory.read32(sp + 8), let eflags = GuestMemory.read32(sp + 12) else {
            GuestFaults.crash(d, "iret frame on the guest stack is not readable")
        }
        var ring = cs & 3
        if ring == 0 { ring = 1 }
        var newESP = sp &+ 16
        var newSS = frame.pointee.ss
        if ring == 3 {
            guard let esp = GuestMemory.read32(sp + 16), let ss = GuestMemory.read32(sp + 20) else {
                GuestFaults.crash(d, "iret frame to ring 3 is not readable")
            }
            newESP = esp
            newSS = ss | 3
        }
        guard eip < XenLayout.hypervisorVirtStart else { GuestFaults.crash(d, "iret to an address in the hypervisor area") }
        frame.pointee.eax = eax
        frame.pointee.eip = eip
        frame.pointee.cs = (cs & 0xFFFC) | ring
        // IOPL stays 0, no virtual-8086 or nested task; the real IF stays on for the hypervisor.
        frame.pointee.eflags = (eflags & ~UInt32(0x0002_7000)) | 0x200 | 0x2
        frame.pointee.esp = newESP
        frame.pointee.ss = newSS
        d.upcallMask = eflags & 0x200 != 0 ? 0 : 1
        return .frameReplaced
    }
}
