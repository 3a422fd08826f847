// TrapDecode.swift: the trap and callback hypercalls decoded: set_trap_table (0), set_callbacks (4),
// callback_op (30), stack_switch (3), fpu_taskswitch (5). Registers and guest structs in, typed
// requests out; no handler, callback or stack may lie in the hypervisor area, no code selector in
// ring 0. Decoders only read guest memory through GuestMemoryAccess and must never act.

import PVABI

/// Where a guest handler or callback starts: a checked code selector and an entry point.
public struct GuestEntryPoint: Equatable, Sendable {
    public let cs: UInt16
    public let eip: UInt32

    /// A code selector a guest may name: the flat ring-1/ring-3 selectors, or one of its own
    /// GDT/LDT entries; RPL 0 is raised to 1 (a guest kernel runs in ring 1). nil otherwise.
    public static func codeSelector(_ raw: UInt32) -> UInt16? {
        guard raw <= 0xFFFF else { return nil }
        let selector = UInt16(raw)
        let fixed = selector & 3 == 0 ? selector | 1 : selector
        if fixed == Selector.flatRing1CS || fixed == Selector.flatRing3CS { return fixed }
        if fixed & 4 != 0 { return fixed }                                   // LDT: guest-owned
        guard Int(fixed >> 3) < Selector.firstReservedGDTEntry, fixed >> 3 != 0 else { return nil }
        return fixed
    }

    /// An entry point the guest may be sent to, or the refusal that says why not.
    public static func check(cs: UInt32, eip: UInt32, what: EntryKind) -> Decoded<GuestEntryPoint> {
        guard let selector = codeSelector(cs) else { return .failure(Refusal(.EINVAL, what.badSelector)) }
        guard eip < XenLayout.hypervisorVirtStart else { return .failure(Refusal(.EINVAL, what.badAddress)) }
        return .success(GuestEntryPoint(cs: selector, eip: eip))
    }

    public enum EntryKind {
        case trapHandler, callback
        var badSelector: StaticString {
            self == .trapHandler ? "trap handler code selector is not the guest's" : "callback code selector is not the guest's"
        }
        var badAddress: StaticString {
            self == .trapHandler ? "trap handler address lies in the hypervisor area" : "callback address lies in the hypervisor area"
        }
    }
}

/// set_trap_table: the new entries, copied and checked, to install only if all were good.
public struct TrapTableRequest {
    public static let maxEntries = 256
    private var storage = InlineArray<256, TrapInfo>(repeating: TrapInfo.empty(vector: 0))
    /// Entries before the terminator; a request with none and `clears` set empties the table.
    public private(set) var count = 0
    /// A null list pointer: every vector loses its handler.
    public private(set) var clears = false
    public init() {}

    public subscript(i: Int) -> TrapInfo { storage[i] }

    /// Reads entries from `list` up to the one whose address is 0. Fills `self`.
    public mutating func decode<M: GuestMemoryAccess>(list: UInt32, _ memory: inout M) -> Refusal? {
        count = 0
        clears = list == 0
        if clears { return nil }
        // One entry per vector is a full table: 256 entries, then the terminator (Linux sends exactly that).
        while true {
            guard let slot = GuestRange.element(of: list, index: UInt32(count), size: UInt32(TrapInfoLayout.size)),
                  let raw: GuestBytes<8> = memory.read(slot) else {
                return Refusal(.EFAULT, "trap table is not readable guest memory")
            }
            let entry = TrapInfo(vector: raw.u8(TrapInfoLayout.vectorOffset), flags: raw.u8(TrapInfoLayout.flagsOffset),
                                 cs: raw.u16(TrapInfoLayout.csOffset), address: raw.u32(TrapInfoLayout.addressOffset))
            if entry.address == 0 { return nil }
            guard count < Self.maxEntries else { return Refusal(.EINVAL, "trap table has more than 256 entries before its terminator") }
            switch GuestEntryPoint.check(cs: UInt32(entry.cs), eip: entry.address, what: .trapHandler) {
            case .failure(let r): return r
            case .success(let p): storage[count] = TrapInfo(vector: entry.vector, flags: entry.flags, cs: p.cs, address: p.eip)
            }
            count += 1
        }
    }
}

/// set_callbacks (4): event selector and address, failsafe selector and address.
public struct SetCallbacksRequest: Equatable, Sendable {
    public let event: GuestEntryPoint
    public let failsafe: GuestEntryPoint

    public static func decode(_ a: HypercallArguments) -> Decoded<SetCallbacksRequest> {
        guard GuestEntryPoint.codeSelector(a.a1) != nil, GuestEntryPoint.codeSelector(a.a3) != nil else {
            return .failure(Refusal(.EINVAL, "callback code selector is not the guest's"))
        }
        switch (GuestEntryPoint.check(cs: a.a1, eip: a.a2, what: .callback), GuestEntryPoint.check(cs: a.a3, eip: a.a4, what: .callback)) {
        case (.success(let e), .success(let f)): return .success(SetCallbacksRequest(event: e, failsafe: f))
        case (.failure(let r), _), (_, .failure(let r)): return .failure(r)
        }
    }
}

/// callback_op (30): register or unregister one callback.
public enum CallbackOpRequest: Equatable, Sendable {
    case register(CallbackType, GuestEntryPoint)
    case unregister(CallbackType)

    public static func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Decoded<CallbackOpRequest> {
        guard let op = CallbackOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown callback_op command")) }
        switch op {
        case .register:
            guard let raw: GuestBytes<12> = memory.read(a.a2, count: CallbackRegisterLayout.size) else {
                return .failure(Refusal(.EFAULT, "callback_register is not readable guest memory"))
            }
            guard let type = CallbackType(rawValue: raw.u16(CallbackRegisterLayout.typeOffset)) else {
                return .failure(Refusal(.EINVAL, "unknown callback type"))
            }
            return GuestEntryPoint.check(cs: raw.u32(CallbackRegisterLayout.csOffset), eip: raw.u32(CallbackRegisterLayout.eipOffset),
                                         what: .callback).map { .register(type, $0) }
        case .unregister:
            guard let raw: GuestBytes<4> = memory.read(a.a2, count: 4) else {
                return .failure(Refusal(.EFAULT, "callback_unregister is not readable"))
            }
            guard let type = CallbackType(rawValue: raw.u16(CallbackRegisterLayout.typeOffset)) else {
                return .failure(Refusal(.EINVAL, "unknown callback type"))
            }
            // As on Xen: the event and failsafe callbacks stay registered once they are.
            if type == .event || type == .failsafe {
                return .failure(Refusal(.EINVAL, "the event and failsafe callbacks cannot be unregistered"))
            }
            return .success(.unregister(type))
        }
    }
}

/// stack_switch (3): the ring-1 stack traps from ring 3 land on.
public struct StackSwitchRequest: Equatable, Sendable {
    public let ss: UInt16
    public let esp: UInt32

    /// As Xen's do_stack_switch: never refused. The selector keeps its low 16 bits (TSS.ss1 is 16 bits
    /// wide) and an RPL below the guest kernel's ring is raised to it (fixup_guest_stack_selector), so
    /// 32-bit Linux's __KERNEL_DS 0x68 becomes 0x69. A selector or stack the CPU will not take fails
    /// later, on the first bounce through it: the bounce frame goes through the checked guest-memory
    /// path and a refused return lands in the failsafe callback or crashes the domain alone.
    public static func decode(_ a: HypercallArguments) -> Decoded<StackSwitchRequest> {
        let ss = UInt16(truncatingIfNeeded: a.a1)
        let fixed = ss & 3 >= StackSwitch.kernelRPL ? ss : (ss & ~3) | StackSwitch.kernelRPL
        return .success(StackSwitchRequest(ss: fixed, esp: a.a2))
    }
}
