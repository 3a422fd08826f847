// StoreDecoder.swift: decodes the few x86-32 instructions a PV guest uses to write a page-table
// entry in place (writable page tables): the value written, its width and the instruction's length.
// Pure: it never reads guest memory, computes an address (CR2 gives it) or guesses at an encoding.
//
// Why so few. A guest that writes its own L1 entries takes a page fault on the write; the
// hypervisor validates the new entry, stores it, and resumes after the instruction. Linux and
// the BSDs write entries with `mov`, `xchg`, `cmpxchg`, `cmpxchg8b` (a 64-bit PAE entry in one
// go) and, when clearing, `stosd`; Linux's generic bit operations on an entry (clear_bit on
// _PAGE_RW when fork write-protects, test_and_clear_bit on _PAGE_ACCESSED) are `and`/`or`/`xor`
// with an immediate or a register (80, 81, 83, 08/09, 20/21, 30/31) and `bts`/`btr`/`btc`
// (0F AB, 0F B3, 0F BB, 0F BA /5-/7), read-modify-writes of one byte or dword of the entry.
// Everything else is refused with a sentence for the log, so the fault is bounced to the guest
// rather than emulated wrongly. Rules:
//
// - Prefixes: segment overrides are skipped (CR2 already is the linear address). LOCK is
//   accepted on xchg, cmpxchg, cmpxchg8b and the read-modify-writes (on mov the CPU raises #UD,
//   never #PF). 66
//   (16-bit operand), 67 (16-bit addressing) and REP/REPNE are refused.
// - The destination must be memory (mod != 3); its length covers every 32-bit form: SIB,
//   SIB with base 5 and mod 0 (disp32, no base), mod 0 rm 5 (disp32), disp8 and disp32.
// - At most 15 bytes, as the CPU itself; fewer bytes than the encoding needs is refused.

public enum StoreDecoder {
    /// The guest's general registers at the fault, as the instruction reads them.
    public struct Registers: Equatable, Sendable {
        public var eax: UInt32, ecx: UInt32, edx: UInt32, ebx: UInt32
        public var esp: UInt32, ebp: UInt32, esi: UInt32, edi: UInt32

        public init(eax: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0, ebx: UInt32 = 0,
                    esp: UInt32 = 0, ebp: UInt32 = 0, esi: UInt32 = 0, edi: UInt32 = 0) {
            self.eax = eax; self.ecx = ecx; self.edx = edx; self.ebx = ebx
            self.esp = esp; self.ebp = ebp; self.esi = esi; self.edi = edi
        }

        /// The registers of a trap from a guest ring: ESP is the interrupted one, not pushad's.
        public init(_ frame: TrapFrame) {
            self.init(eax: frame.eax, ecx: frame.ecx, edx: frame.edx, ebx: frame.ebx,
                      esp: frame.esp, ebp: frame.ebp, esi: frame.esi, edi: frame.edi)
        }

        /// A 32-bit register by its encoding (the ModRM reg field): 0 eax, 1 ecx, ... 7 edi.
        public subscript(number: UInt8) -> UInt32 {
            switch number & 7 {
            case 0: return eax
            case 1: return ecx
            case 2: return edx
            case 3: return ebx
            case 4: return esp
            case 5: return ebp
            case 6: return esi
            default: return edi
            }
        }

        /// An 8-bit register by its encoding: 0-3 al, cl, dl, bl; 4-7 ah, ch, dh, bh.
        public func byteRegister(_ number: UInt8) -> UInt8 {
            let n = number & 7
            return n < 4 ? UInt8(truncatingIfNeeded: self[n]) : UInt8(truncatingIfNeeded: self[n - 4] >> 8)
        }
    }

    /// How the store combines with what memory holds.
    public enum Kind: Equatable, Sendable {
        /// mov, stosd: memory becomes the value.
        case plain
        /// xchg: memory becomes the value and the old contents go to the source register.
        case xchg(register: UInt8)
        /// cmpxchg: memory becomes the value only if it equals `expected` (EAX); ZF says which.
        case cmpxchg(expected: UInt32)
        /// cmpxchg8b: memory becomes ECX:EBX only if it equals `expected` (EDX:EAX).
        case cmpxchg8b(expected: UInt64)
        /// A read-modify-write: memory becomes `operation` of its contents and the value (an
        /// immediate, a register, or for the bit operations the bit number, below the width).
        case update(UpdateOperation)
    }

    /// The read-modify-write operations on an entry, with the flags each leaves.
    public enum UpdateOperation: Equatable, Sendable {
        case and, or, xor, bitSet, bitReset, bitComplement

        /// EFLAGS bits: CF 0, PF 2, ZF 6, SF 7, OF 11.
        public static let carry: UInt32 = 1 << 0, parity: UInt32 = 1 << 2, zero: UInt32 = 1 << 6,
                          sign: UInt32 = 1 << 7, overflow: UInt32 = 1 << 11

        /// The new contents of a `width`-byte (1 or 4) location holding `old`, and the flags:
        /// `affected` is the mask of EFLAGS bits the instruction defines, `flags` their values.
        public func apply(to old: UInt32, operand: UInt32, width: Int) -> (value: UInt32, affected: UInt32, flags: UInt32) {
            let mask: UInt32 = width == 1 ? 0xFF : 0xFFFF_FFFF
            let a = old & mask, b = operand & mask
            switch self {
            case .and, .or, .xor:
                let r = self == .and ? a & b : (self == .or ? a | b : a ^ b)
                var flags: UInt32 = 0
                if r == 0 { flags |= Self.zero }
                if r & (width == 1 ? 0x80 : 0x8000_0000) != 0 { flags |= Self.sign }
                if (r & 0xFF).nonzeroBitCount % 2 == 0 { flags |= Self.parity }
                return (r, Self.carry | Self.parity | Self.zero | Self.sign | Self.overflow, flags)
            case .bitSet, .bitReset, .bitComplement:
                let bit: UInt32 = 1 << (b & UInt32(width * 8 - 1))
                let r = self == .bitSet ? a | bit : (self == .bitReset ? a & ~bit : a ^ bit)
                return (r, Self.carry, a & bit != 0 ? Self.carry : 0)
            }
        }
    }

    public enum Result {
        /// A store of `width` bytes (1, 4 or 8) of `value`, by an instruction `length` bytes long
        /// (for `.update`, `value` is the operand the operation combines with memory).
        case store(width: Int, value: UInt64, length: Int, kind: Kind)
        /// Not an instruction this decoder emulates; `reason` is a sentence for the log.
        case unsupported(reason: StaticString)
    }

    /// The longest instruction the CPU accepts.
    public static let maximumLength = 15

    /// Decodes the instruction at the start of `bytes` (what the guest's EIP points at).
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes, registers: Registers) -> Result
    where Bytes.Element == UInt8 {
        do throws(Unsupported) {
            return try decodeOrThrow(bytes, registers: registers)
        } catch {
            return .unsupported(reason: error.reason)
        }
    }

    /// Why an instruction is not emulated, thrown from anywhere in the decode.
    struct Unsupported: Error {
        let reason: StaticString
    }

    static func decodeOrThrow<Bytes: RandomAccessCollection>(_ bytes: Bytes, registers: Registers) throws(Unsupported) -> Result
    where Bytes.Element == UInt8 {
        var cursor = Cursor(bytes)
        var locked = false

        // Prefixes, then the opcode.
        var opcode: UInt8 = 0
        prefixes: while true {
            let byte = try cursor.byte()
            switch byte {
            case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65:
                continue
            case 0xF0:
                locked = true
            case 0x66:
                return .unsupported(reason: "16-bit operand size (prefix 66) is refused: a page-table entry is written 4 or 8 bytes at a time.")
            case 0x67:
                return .unsupported(reason: "16-bit addressing (prefix 67) is refused.")
            case 0xF2, 0xF3:
                return .unsupported(reason: "REP and REPNE prefixes are refused: a repeated store could cross into the next entries.")
            default:
                opcode = byte
                break prefixes
            }
        }

        switch opcode {
        case 0x89, 0x88, 0x87:               // mov r/m32, r32; mov r/m8, r8; xchg r/m32, r32
            if locked && opcode != 0x87 { return .unsupported(reason: lockedMov) }
            let modrm = try cursor.memoryOperand()
            let length = cursor.consumed
            if opcode == 0x88 {
                return .store(width: 1, value: UInt64(registers.byteRegister(modrm.reg)), length: length, kind: .plain)
            }
            let kind: Kind = opcode == 0x87 ? .xchg(register: modrm.reg) : .plain
            return .store(width: 4, value: UInt64(registers[modrm.reg]), length: length, kind: kind)

        case 0xC7:                           // mov r/m32, imm32
            if locked { return .unsupported(reason: lockedMov) }
            let modrm = try cursor.memoryOperand()
            guard modrm.reg == 0 else { return .unsupported(reason: "Opcode C7 with a reg field other than 0 is not mov r/m32, imm32.") }
            let immediate = try cursor.dword()
            let length = cursor.consumed
            return .store(width: 4, value: UInt64(immediate), length: length, kind: .plain)

        case 0xAB:                           // stosd
            if locked { return .unsupported(reason: "LOCK stosd raises #UD, not a page fault.") }
            let length = cursor.consumed
            return .store(width: 4, value: UInt64(registers.eax), length: length, kind: .plain)

        case 0x80, 0x81, 0x83:               // and/or/xor r/m, imm (8, 32, sign-extended 8)
            let modrm = try cursor.memoryOperand()
            let operation: UpdateOperation
            switch modrm.reg {
            case 1: operation = .or
            case 4: operation = .and
            case 6: operation = .xor
            default: return .unsupported(reason: "Of 80, 81 and 83 only or (/1), and (/4) and xor (/6) are entry updates this decoder emulates.")
            }
            let immediate: UInt32
            if opcode == 0x81 {
                let v = try cursor.dword()
                immediate = v
            } else {
                let v = try cursor.byte()
                immediate = opcode == 0x83 ? UInt32(bitPattern: Int32(Int8(bitPattern: v))) : UInt32(v)
            }
            return .store(width: opcode == 0x80 ? 1 : 4, value: UInt64(immediate), length: cursor.consumed, kind: .update(operation))

        case 0x08, 0x09, 0x20, 0x21, 0x30, 0x31:   // or/and/xor r/m, r (8 or 32 bits)
            let modrm = try cursor.memoryOperand()
            let operation: UpdateOperation = opcode < 0x20 ? .or : (opcode < 0x30 ? .and : .xor)
            let byte = opcode & 1 == 0
            let value = byte ? UInt32(registers.byteRegister(modrm.reg)) : registers[modrm.reg]
            return .store(width: byte ? 1 : 4, value: UInt64(value), length: cursor.consumed, kind: .update(operation))

        case 0x0F:
            let second = try cursor.byte()
            switch second {
            case 0xAB, 0xB3, 0xBB:           // bts/btr/btc r/m32, r32
                let modrm = try cursor.memoryOperand()
                // With a register bit number the CPU addresses a bit string: only bits of this dword are emulated.
                let bit = registers[modrm.reg]
                guard bit < 32 else { return .unsupported(reason: "The bit number in the register lies outside the faulting dword (a bit-string access).") }
                let operation: UpdateOperation = second == 0xAB ? .bitSet : (second == 0xB3 ? .bitReset : .bitComplement)
                return .store(width: 4, value: UInt64(bit), length: cursor.consumed, kind: .update(operation))
            case 0xBA:                       // bt/bts/btr/btc r/m32, imm8
                let modrm = try cursor.memoryOperand()
                let imm = try cursor.byte()
                let operation: UpdateOperation
                switch modrm.reg {
                case 5: operation = .bitSet
                case 6: operation = .bitReset
                case 7: operation = .bitComplement
                default: return .unsupported(reason: "Of 0F BA only bts (/5), btr (/6) and btc (/7) write.")
                }
                return .store(width: 4, value: UInt64(imm & 31), length: cursor.consumed, kind: .update(operation))
            case 0xB1:                       // cmpxchg r/m32, r32
                let modrm = try cursor.memoryOperand()
                let length = cursor.consumed
                return .store(width: 4, value: UInt64(registers[modrm.reg]), length: length,
                              kind: .cmpxchg(expected: registers.eax))
            case 0xC7:                       // cmpxchg8b m64
                let modrm = try cursor.memoryOperand()
                guard modrm.reg == 1 else { return .unsupported(reason: "Of 0F C7, only /1 (cmpxchg8b) is a store this decoder emulates.") }
                let length = cursor.consumed
                let new = UInt64(registers.ecx) << 32 | UInt64(registers.ebx)
                let expected = UInt64(registers.edx) << 32 | UInt64(registers.eax)
                return .store(width: 8, value: new, length: length, kind: .cmpxchg8b(expected: expected))
            default:
                return .unsupported(reason: "Not a page-table store: the two-byte opcode is none of cmpxchg (0F B1), cmpxchg8b (0F C7 /1), bts, btr or btc.")
            }

        default:
            return .unsupported(reason: "Not a page-table store: the opcode is none of mov (88, 89, C7), xchg (87), and/or/xor, cmpxchg, cmpxchg8b, bts/btr/btc or stosd (AB).")
        }
    }

    static let lockedMov: StaticString = "LOCK on mov raises #UD, not a page fault."

    struct ModRM {
        var mod: UInt8, reg: UInt8, rm: UInt8
    }

    /// Reads bytes in order, at most `maximumLength` of them.
    struct Cursor<Bytes: RandomAccessCollection> where Bytes.Element == UInt8 {
        let bytes: Bytes
        var consumed = 0
        init(_ bytes: Bytes) { self.bytes = bytes }

        /// Why `next()` answered nil: the CPU's 15-byte limit, or the end of what was read.
        var shortReason: StaticString {
            consumed >= StoreDecoder.maximumLength
                ? "The instruction would be longer than 15 bytes, which the CPU refuses (#GP), so it cannot have faulted on a write."
                : "The instruction is cut short: its encoding needs more bytes than were read."
        }

        mutating func next() -> UInt8? {
            guard consumed < bytes.count, consumed < StoreDecoder.maximumLength else { return nil }
            let byte = bytes[bytes.index(bytes.startIndex, offsetBy: consumed)]
            consumed += 1
            return byte
        }

        mutating func skip(_ count: Int) -> Bool {
            for _ in 0..<count where next() == nil { return false }
            return true
        }

        /// The next byte, or the reason there is none.
        mutating func byte() throws(Unsupported) -> UInt8 {
            guard let b = next() else { throw Unsupported(reason: shortReason) }
            return b
        }

        /// The next four bytes, little-endian, or the reason there are not four.
        mutating func dword() throws(Unsupported) -> UInt32 {
            guard let v = u32() else { throw Unsupported(reason: shortReason) }
            return v
        }

        mutating func u32() -> UInt32? {
            var value: UInt32 = 0
            for i in 0..<4 {
                guard let byte = next() else { return nil }
                value |= UInt32(byte) << (8 * UInt32(i))
            }
            return value
        }

        /// ModRM, then SIB and displacement, of an operand that must be memory.
        mutating func memoryOperand() throws(Unsupported) -> ModRM {
            let first = try self.byte()
            let modrm = ModRM(mod: first >> 6, reg: (first >> 3) & 7, rm: first & 7)
            if modrm.mod == 3 {
                throw Unsupported(reason: "The destination is a register (mod 3), so the instruction cannot have faulted on a page-table write.")
            }
            var displacement = modrm.mod == 1 ? 1 : modrm.mod == 2 ? 4 : 0
            if modrm.rm == 4 {
                let sib = try self.byte()
                if modrm.mod == 0 && sib & 7 == 5 { displacement = 4 }   // no base, disp32
            } else if modrm.mod == 0 && modrm.rm == 5 {
                displacement = 4                                        // disp32 alone
            }
            guard skip(displacement) else { throw Unsupported(reason: shortReason) }
            return modrm
        }
    }
}
