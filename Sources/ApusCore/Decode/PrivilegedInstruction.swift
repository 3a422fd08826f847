// PrivilegedInstruction.swift: the ring-1 instructions a 32-bit PV kernel runs natively and that
// fault with #GP(0), decoded for emulation as Xen's emulate_privileged_op does: port I/O (in/out,
// immediate or DX port, 8/16/32 bits; ins/outs with rep and a segment override), cli and sti, moves from and to control and debug registers,
// clts, wbinvd, rdmsr and wrmsr. It only decodes the fetched bytes; what the emulation answers is the
// actor's (and anything else stays a #GP).

/// A general register by its ModRM number (0 EAX, 1 ECX, 2 EDX, 3 EBX, 4 ESP, 5 EBP, 6 ESI, 7 EDI).
public typealias RegisterNumber = UInt8

/// A segment register by its encoding (the order of the 26/2E/36/3E/64/65 override prefixes' sreg numbers).
public enum SegmentRegister: UInt8, Equatable, Sendable {
    case es = 0, cs = 1, ss = 2, ds = 3, fs = 4, gs = 5
}

public enum PrivilegedInstruction: Equatable, Sendable {
    /// in AL/AX/EAX, port: `size` 1, 2 or 4; `port` nil means DX.
    case portIn(size: UInt8, port: UInt16?)
    /// out port, AL/AX/EAX.
    case portOut(size: UInt8, port: UInt16?)
    /// ins (6C/6D): `size` bytes from port DX to ES:EDI (ES cannot be overridden), repeated ECX times with `rep`.
    case stringIn(size: UInt8, rep: Bool)
    /// outs (6E/6F): `size` bytes from `segment`:ESI (DS unless overridden) to port DX, repeated ECX times with `rep`.
    case stringOut(size: UInt8, segment: SegmentRegister, rep: Bool)
    /// mov reg, CRn.
    case readControl(cr: UInt8, to: RegisterNumber)
    /// mov CRn, reg.
    case writeControl(cr: UInt8, from: RegisterNumber)
    /// cli and sti: accepted where the virtual IOPL allows them, changing nothing (as on Xen).
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
    /// (or the bytes end inside it, or it is longer than the CPU's 15 bytes). Prefixes: operand size
    /// (66) on any of them; rep (F3, or F2, which ins/outs treat alike) and a segment override only on
    /// ins/outs, where the last override counts; address size (67, 16-bit SI/DI/CX) and lock make it
    /// something this decoder does not emulate.
    public static func decode<C: RandomAccessCollection>(_ bytes: C) -> (PrivilegedInstruction, Int)? where C.Element == UInt8, C.Index == Int {
        var i = bytes.startIndex
        var wide: UInt8 = 4
        var rep = false
        var segment: SegmentRegister? = nil
        var otherPrefix = false           // a rep or segment prefix: only ins/outs may carry one
        prefixes: while i < bytes.endIndex, i - bytes.startIndex < maximumLength {
            switch bytes[i] {
            case 0x66: wide = 2
            case 0xF2, 0xF3: rep = true; otherPrefix = true
            case 0x26: segment = .es; otherPrefix = true
            case 0x2E: segment = .cs; otherPrefix = true
            case 0x36: segment = .ss; otherPrefix = true
            case 0x3E: segment = .ds; otherPrefix = true
            case 0x64: segment = .fs; otherPrefix = true
            case 0x65: segment = .gs; otherPrefix = true
            case 0x67, 0xF0: return nil
            default: break prefixes
            }
            i += 1
        }
        guard i < bytes.endIndex, i - bytes.startIndex < maximumLength else { return nil }
        if bytes[i] >= 0x6C && bytes[i] <= 0x6F {
            let op = bytes[i]
            let size: UInt8 = op & 1 == 0 ? 1 : wide
            let length = i + 1 - bytes.startIndex
            return (op < 0x6E ? .stringIn(size: size, rep: rep) : .stringOut(size: size, segment: segment ?? .ds, rep: rep), length)
        }
        guard !otherPrefix else { return nil }
        // The other forms take one operand-size prefix at most (a run of them is not emulated).
        guard i - bytes.startIndex <= 1 else { return nil }
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

    /// The longest instruction the CPU runs.
    public static let maximumLength = 15

    /// What a port read gives a domain with no access to the port: all ones, as Xen answers.
    public static func unreadablePortValue(size: UInt8) -> UInt32 {
        size == 1 ? 0xFF : (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
    }
}
