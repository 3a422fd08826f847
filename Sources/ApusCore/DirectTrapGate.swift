// DirectTrapGate.swift: the rule for Xen's 32-bit "fast trap": when a guest's system-call vector (0x80) may
// skip the hypervisor through a DPL-3 trap gate straight to its ring-1 handler, and that gate; and the ring-1
// stack the CPU switches to on it. Pure: it looks only at the trap-table entry, the descriptor its selector
// names and the kernel stack. It must never produce a gate whose target can run in ring 0 or in a hypervisor
// segment (a gate ignores its selector's RPL), nor one the hypervisor would have to finish (events to mask).

import PVABI

/// Why vector 0x80 is bounced through the hypervisor instead. `reason` is a sentence for the log.
public enum DirectTrapRefusal: Equatable, Sendable {
    case noHandler
    case notFromRing3
    case masksEvents
    case nullSelector
    case notRing1Selector
    case hypervisorSelector
    case beyondTable
    case notPresent
    case notCode
    case conforming
    case notRing1Segment
    case handlerBeyondLimit

    public var reason: StaticString {
        switch self {
        case .noHandler: return "the trap table has no handler for it"
        case .notFromRing3: return "its trap-table entry has DPL below 3, so ring 3 gets #GP"
        case .masksEvents: return "its trap-table entry masks events on entry, which no hardware gate can do"
        case .nullSelector: return "its code selector is null"
        case .notRing1Selector: return "its code selector's RPL is not 1, the guest kernel's ring"
        case .hypervisorSelector: return "its code selector names a hypervisor segment other than FLAT_RING1_CS"
        case .beyondTable: return "its code selector lies beyond the guest's GDT or LDT"
        case .notPresent: return "its code segment is not present"
        case .notCode: return "its selector names a data or system descriptor, not code"
        case .conforming: return "its code segment is conforming, so the handler would run in ring 3"
        case .notRing1Segment: return "its code segment's DPL is not 1"
        case .handlerBeyondLimit: return "its handler lies beyond its code segment's limit"
        }
    }
}

/// How `int 0x80` from ring 3 reaches the guest kernel.
public enum DirectTrapRoute: Equatable, Sendable {
    /// The IDT holds this DPL-3 trap gate: no hypervisor code runs on a system call.
    case gate(GateDescriptor)
    /// The IDT keeps the hypervisor's own gate; the call is bounced as every other trap is.
    case bounce(DirectTrapRefusal)

    public var isGate: Bool { if case .gate = self { return true } else { return false } }
}

public enum DirectTrapGate {
    /// The only vector given a direct gate, as on 32-bit Xen: the system call.
    public static let vector: UInt8 = 0x80
    /// What the CPU pushes on the ring-1 stack for `int` from ring 3: EIP, CS, EFLAGS, ESP, SS.
    public static let frameBytes: UInt32 = 20

    /// Decides the route of `int 0x80` from ring 3.
    /// IN: the guest's trap-table entry for 0x80 (its selector as set_trap_table stored it); how many
    /// entries its GDT (set_gdt) and LDT (mmuext set_ldt) hold; `descriptor(selector)`: the checked
    /// descriptor the guest's GDT or LDT holds for a selector within those counts.
    /// OUT: the gate to install, or why not. Looks at nothing else.
    public static func route(entry: TrapInfo, gdtEntries: Int, ldtEntries: Int, descriptor: (UInt16) -> UInt64) -> DirectTrapRoute {
        guard entry.hasHandler else { return .bounce(.noHandler) }
        guard entry.dpl == 3 else { return .bounce(.notFromRing3) }
        guard !entry.masksEvents else { return .bounce(.masksEvents) }
        let selector = entry.cs
        let index = Int(selector >> 3)
        let isLDT = selector & 4 != 0
        if !isLDT && index == 0 { return .bounce(.nullSelector) }
        guard selector & 3 == 1 else { return .bounce(.notRing1Selector) }
        let segment: SegmentDescriptor
        if isLDT {
            guard index < ldtEntries else { return .bounce(.beyondTable) }
            segment = SegmentDescriptor(raw: descriptor(selector))
        } else if index >= Selector.firstReservedGDTEntry {
            // The reserved page is the hypervisor's: only its flat ring-1 code segment is the guest kernel's.
            guard selector == Selector.flatRing1CS else { return .bounce(.hypervisorSelector) }
            segment = .flat(code: true, dpl: 1, limitPages: HypervisorGDT.guestLimitPages)
        } else {
            guard index < gdtEntries else { return .bounce(.beyondTable) }
            segment = SegmentDescriptor(raw: descriptor(selector))
        }
        guard segment.present else { return .bounce(.notPresent) }
        guard segment.isCode else { return .bounce(.notCode) }
        guard segment.type & conformingBit == 0 else { return .bounce(.conforming) }
        guard segment.dpl == 1 else { return .bounce(.notRing1Segment) }
        guard entry.address <= segment.limitBytes else { return .bounce(.handlerBeyondLimit) }
        return .gate(.trapGate(offset: entry.address, selector: selector, dpl: 3))
    }

    /// Bit 2 of a code segment's type: conforming (runs at the caller's privilege).
    static let conformingBit: UInt8 = 0x4

    /// The TSS ss1/esp1 pair for the domain's kernel stack (stack_switch), or a null SS when the
    /// frame the CPU would push at esp1 is not wholly below HYPERVISOR_VIRT_START (or wraps): a null
    /// SS1 turns the gate into #TS, which the hypervisor bounces like any fault, through the checked
    /// guest-memory path. The CPU itself never writes a frame near the hypervisor's memory.
    public static func ring1Stack(ss: UInt32, esp: UInt32) -> (ss: UInt32, esp: UInt32) {
        guard esp >= frameBytes, esp <= XenLayout.hypervisorVirtStart else { return (0, 0) }
        return (ss & 0xFFFF, esp)
    }
}
