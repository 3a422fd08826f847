// TrapFrame.swift: the register frame Boot/traps.asm leaves on the ring-0 stack for every vector.
// Its field order is the push order in traps.asm and a host test pins every offset; it must
// never gain a field the assembly does not push.

import PVABI

public struct TrapFrame {
    public var edi: UInt32        // +0   pushad, lowest
    public var esi: UInt32        // +4
    public var ebp: UInt32        // +8
    public var espAtPushad: UInt32 // +12 ignored by popad
    public var ebx: UInt32        // +16
    public var edx: UInt32        // +20
    public var ecx: UInt32        // +24
    public var eax: UInt32        // +28
    public var gs: UInt32         // +32  segment registers, low 16 bits meaningful
    public var fs: UInt32         // +36
    public var es: UInt32         // +40
    public var ds: UInt32         // +44
    public var vector: UInt32     // +48  pushed by the stub
    public var errorCode: UInt32  // +52  CPU's, or 0 from the stub
    public var eip: UInt32        // +56  pushed by the CPU
    public var cs: UInt32         // +60
    public var eflags: UInt32     // +64
    public var esp: UInt32        // +68  only present when the trap came from ring 1-3
    public var ss: UInt32         // +72  only present when the trap came from ring 1-3

    /// The privilege level the trap interrupted.
    public var ring: UInt32 { cs & 3 }
    public var fromGuest: Bool { ring != 0 }

    public init() {
        edi = 0; esi = 0; ebp = 0; espAtPushad = 0; ebx = 0; edx = 0; ecx = 0; eax = 0
        gs = 0; fs = 0; es = 0; ds = 0; vector = 0; errorCode = 0
        eip = 0; cs = 0; eflags = 0; esp = 0; ss = 0
    }
}

/// Names of the 32 architectural exceptions, as systems people write them.
public enum ExceptionName {
    public static func mnemonic(_ vector: UInt32) -> StaticString {
        switch vector {
        case 0: return "#DE"
        case 1: return "#DB"
        case 2: return "NMI"
        case 3: return "#BP"
        case 4: return "#OF"
        case 5: return "#BR"
        case 6: return "#UD"
        case 7: return "#NM"
        case 8: return "#DF"
        case 9: return "CSO"
        case 10: return "#TS"
        case 11: return "#NP"
        case 12: return "#SS"
        case 13: return "#GP"
        case 14: return "#PF"
        case 16: return "#MF"
        case 17: return "#AC"
        case 18: return "#MC"
        case 19: return "#XM"
        case 20: return "#VE"
        case 21: return "#CP"
        default: return "reserved"
        }
    }
}
