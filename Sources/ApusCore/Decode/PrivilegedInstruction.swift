// PrivilegedInstruction.swift: the ring-1 instructions a 32-bit PV kernel runs natively and that
// fault with #GP(0), decoded for emulation as Xen's emulate_privileged_op does: port I/O (in/out,
// immediate or DX port, 8/16/32 bits), cli and sti, moves from and to control and debug registers,
// clts, wbinvd, rdmsr and wrmsr. It only decodes the fetched bytes; what the emulation answers is the
// actor's (and anything else stays a #GP).

/// A general register by its ModRM number (0 EAX, 1 ECX, 2 EDX, 3 EBX, 4 ESP, 5 EBP, 6 ESI, 7 EDI).
public typealias RegisterNumber = UInt8

public enum PrivilegedInstruction: Equatable, Sendable {
    /// in AL/AX/EAX, port: `size` 1, 2 or 4; `port` nil means DX.
    case portIn(size: UInt8, port: UInt16?)
    /// out port, AL/AX/EAX.
    case portOut(size: UInt8, port: UInt16?)
    /// mov reg, CRn.
    case readControl(cr: UInt8, to: RegisterNumber)
    /// mov CRn, reg.
    case writeControl(cr: UInt8, from: RegisterNumber)
    /// cli and sti: with a virtual IOPL, the kernel's event mask (evtchn_upcall_mask), as on Xen.
    case clearInterrupts
    case setInterrupts
    /// mov reg, DRn and mov DRn, reg (0F 21 / 0F 23): as get_debugreg and set_debugreg.
    case readDebug(dr: UInt8, to: RegisterNumber)
    case writeDebug(dr: UInt8, from: RegisterNumber)
    /// clts (0F 06): the guest's virtual CR0.TS cleared.
    case clearTaskSwitched
    /// wbinvd (0F 09).
    case writeBackInvalidate
    /// rdmsr (0F 32) and wrmsr (0F 30): ECX names the MSR, EDX:EAX the value.
    case readMSR
    case writeMSR

    /// The instruction at the start of `bytes` and its length, or nil when it is none of these
    /// (or the bytes end inside it). Prefixes: operand size (66) only; a segment or rep prefix
    /// makes it something this decoder does not emulate.
    public static func decode<C: RandomAccessCollection>(_ bytes: C) -> (PrivilegedInstruction, Int)? where C.Element == UInt8, C.Index == Int {
        var i = bytes.startIndex
        var wide: UInt8 = 4
        guard i < bytes.endIndex else { return nil }
        if bytes[i] == 0x66 {
            wide = 2
            i += 1
            guard i < bytes.endIndex else { return nil }
        }
        let op = bytes[i]
        i += 1
        func length() -> Int { i - bytes.startIndex }
        switch op {
        case 0xE4, 0xE5, 0xE6, 0xE7:
            guard i < bytes.endIndex else { return nil }
            let port = UInt16(bytes[i])
            i += 1
            let size: UInt8 = op & 1 == 0 ? 1 : wide
            return (op < 0xE6 ? .portIn(size: size, port: port) : .portOut(size: size, port: port), length())
        case 0xEC, 0xED, 0xEE, 0xEF:
            let size: UInt8 = op & 1 == 0 ? 1 : wide
            return (op < 0xEE ? .portIn(size: size, port: nil) : .portOut(size: size, port: nil), length())
        case 0xFA: return (.clearInterrupts, length())
        case 0xFB: return (.setInterrupts, length())
        case 0x0F:
            guard i < bytes.endIndex, wide == 4 else { return nil }
            let second = bytes[i]
            i += 1
            switch second {
            case 0x06: return (.clearTaskSwitched, length())
            case 0x09: return (.writeBackInvalidate, length())
            case 0x30: return (.writeMSR, length())
            case 0x32: return (.readMSR, length())
            case 0x20, 0x21, 0x22, 0x23: break
            default: return nil
            }
            guard i < bytes.endIndex else { return nil }
            let modrm = bytes[i]
            i += 1
            // mov to/from CRn and DRn always use a register operand (mod is ignored by the CPU: treat as 11).
            let n = (modrm >> 3) & 7
            let reg = modrm & 7
            switch second {
            case 0x21: return (.readDebug(dr: n, to: reg), length())
            case 0x23: return (.writeDebug(dr: n, from: reg), length())
            default: break
            }
            guard n == 0 || n == 2 || n == 3 || n == 4 else { return nil }
            return (second == 0x20 ? .readControl(cr: n, to: reg) : .writeControl(cr: n, from: reg), length())
        default:
            return nil
        }
    }

    /// What a port read gives a domain with no access to the port: all ones, as Xen answers.
    public static func unreadablePortValue(size: UInt8) -> UInt32 {
        size == 1 ? 0xFF : (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
    }
}
