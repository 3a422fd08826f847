// SegmentedOperand.swift: the memory operand of a faulting guest instruction, decoded as far as the
// 4gb_segments assist needs (Xen's gpf_emulate_4gb): which segment register it goes through and at
// which offset, and how long the instruction is. Prefixes, one- and two-byte opcodes with a ModRM
// byte (SIB, displacements, immediates) and the moffs forms of mov; 16-bit addressing, string
// instructions and anything else answer nil. It only decodes: it must never touch guest memory or
// registers (the caller gives the register values), and the offset it computes wraps as the CPU's does.

import PVABI

public struct SegmentedOperand: Equatable, Sendable {
    /// The segment register the access goes through (an override prefix, else DS, or SS for an
    /// address based on ESP or EBP).
    public var segment: SegmentRegister
    /// The effective address: the offset into that segment (mod 2^32).
    public var offset: UInt32
    /// The whole instruction's length in bytes.
    public var length: Int

    public init(segment: SegmentRegister, offset: UInt32, length: Int) {
        self.segment = segment
        self.offset = offset
        self.length = length
    }

    /// Decodes `bytes` (the instruction at EIP); `register(n)` gives general register n by its ModRM number.
    public static func decode<C: RandomAccessCollection>(_ bytes: C, register: (UInt8) -> UInt32) -> SegmentedOperand?
    where C.Element == UInt8, C.Index == Int {
        var i = bytes.startIndex
        func next() -> UInt8? {
            guard i < bytes.endIndex, i - bytes.startIndex < InstructionBytes.maximumLength else { return nil }
            defer { i += 1 }
            return bytes[i]
        }
        var override: SegmentRegister? = nil
        var operandSize16 = false
        var opcode: UInt8 = 0
        while true {                                   // prefixes, then the opcode (15 bytes at most, as next() keeps)
            guard let b = next() else { return nil }
            guard isPrefixByte(b) else { opcode = b; break }
            switch b {
            case 0x26: override = .es
            case 0x2E: override = .cs
            case 0x36: override = .ss
            case 0x3E: override = .ds
            case 0x64: override = .fs
            case 0x65: override = .gs
            case 0x66: operandSize16 = true
            case 0x67: return nil                      // 16-bit addressing: not handled
            default: break                             // lock, repne, rep
            }
        }
        // moffs: mov AL/eAX <-> [disp32], through DS unless overridden.
        if opcode >= 0xA0 && opcode <= 0xA3 {
            guard let d = displacement32(next) else { return nil }
            return SegmentedOperand(segment: override ?? .ds, offset: d, length: i - bytes.startIndex)
        }
        let immediate: Int
        if opcode == 0x0F {
            guard let second = next(), twoByteHasModRM(second) else { return nil }
            immediate = twoByteImmediate(second)
        } else {
            guard oneByteHasModRM(opcode) else { return nil }
            immediate = -1                             // decided by the ModRM's reg field below
        }
        guard let modrm = next() else { return nil }
        let mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7
        guard mod != 3 else { return nil }             // a register operand: no segment involved
        var offset: UInt32 = 0
        var stackBased = false
        if rm == 4 {
            guard let sib = next() else { return nil }
            let scale = sib >> 6, index = (sib >> 3) & 7, base = sib & 7
            if index != 4 { offset = offset &+ (register(index) << UInt32(scale)) }
            if base == 5 && mod == 0 {
                guard let d = displacement32(next) else { return nil }
                offset = offset &+ d
            } else {
                offset = offset &+ register(base)
                stackBased = base == 4 || base == 5
            }
        } else if rm == 5 && mod == 0 {
            guard let d = displacement32(next) else { return nil }
            offset = d
        } else {
            offset = register(rm)
            stackBased = rm == 5
        }
        if mod == 1 {
            guard let d = next() else { return nil }
            offset = offset &+ UInt32(bitPattern: Int32(Int8(bitPattern: d)))
        } else if mod == 2 {
            guard let d = displacement32(next) else { return nil }
            offset = offset &+ d
        }
        let immediateBytes = immediate >= 0 ? immediate : oneByteImmediate(opcode, reg: reg, operandSize16: operandSize16)
        guard i - bytes.startIndex + immediateBytes <= InstructionBytes.maximumLength,
              i + immediateBytes <= bytes.endIndex else { return nil }
        return SegmentedOperand(segment: override ?? (stackBased ? .ss : .ds), offset: offset,
                                length: i - bytes.startIndex + immediateBytes)
    }

    static func isPrefixByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3: return true
        default: return false
        }
    }

    static func displacement32(_ next: () -> UInt8?) -> UInt32? {
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) {
            guard let b = next() else { return nil }
            value |= UInt32(b) << UInt32(shift)
        }
        return value
    }

    /// One-byte opcodes that take a ModRM byte (32-bit mode).
    static func oneByteHasModRM(_ op: UInt8) -> Bool {
        switch op {
        case 0x00...0x03, 0x08...0x0B, 0x10...0x13, 0x18...0x1B, 0x20...0x23, 0x28...0x2B, 0x30...0x33, 0x38...0x3B:
            return true
        case 0x62, 0x63, 0x69, 0x6B, 0x80...0x8F, 0xC0, 0xC1, 0xC4...0xC7, 0xD0...0xD3, 0xD8...0xDF, 0xF6, 0xF7, 0xFE, 0xFF:
            return true
        default:
            return false
        }
    }

    /// Immediate bytes after the ModRM operand of a one-byte opcode.
    static func oneByteImmediate(_ op: UInt8, reg: UInt8, operandSize16: Bool) -> Int {
        let full = operandSize16 ? 2 : 4
        switch op {
        case 0x80, 0x82, 0x83, 0x6B, 0xC0, 0xC1, 0xC6: return 1
        case 0x81, 0x69, 0xC7: return full
        case 0xF6: return reg < 2 ? 1 : 0               // test r/m8, imm8
        case 0xF7: return reg < 2 ? full : 0            // test r/m32, imm32
        default: return 0
        }
    }

    /// Two-byte (0F xx) opcodes that take a ModRM byte.
    static func twoByteHasModRM(_ op: UInt8) -> Bool {
        switch op {
        case 0x00...0x03, 0x0D, 0x10...0x17, 0x18...0x1F, 0x28...0x2F, 0x40...0x4F, 0x50...0x7F, 0x90...0x9F,
             0xA3, 0xA4, 0xA5, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xB0...0xB7, 0xBA...0xBF, 0xC0...0xC7, 0xD0...0xFE:
            return true
        default:
            return false
        }
    }

    /// Immediate bytes after the ModRM operand of a two-byte opcode.
    static func twoByteImmediate(_ op: UInt8) -> Int {
        switch op {
        case 0x70...0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6: return 1
        default: return 0
        }
    }
}
