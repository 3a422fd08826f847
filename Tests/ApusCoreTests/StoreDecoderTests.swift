// StoreDecoderTests.swift: the writable-page-table instruction decoder: every 32-bit addressing
// form's length, which register or immediate is stored, and every refusal. Bytes are written as
// an assembler would emit them; trailing bytes that are not part of the instruction are added on
// purpose, so a length can never be the buffer's size by accident.

import XCTest
@testable import ApusCore

private let registers = StoreDecoder.Registers(
    eax: 0x1111_1001, ecx: 0x2222_2002, edx: 0x3333_3003, ebx: 0x4444_4004,
    esp: 0x5555_5005, ebp: 0x6666_6006, esi: 0x7777_7007, edi: 0x8888_8008)
private let tail: [UInt8] = [0x90, 0xCC, 0x90, 0xCC]

private struct Store: Equatable {
    var width: Int, value: UInt64, length: Int, kind: StoreDecoder.Kind
}

private func decoded(_ bytes: [UInt8], _ regs: StoreDecoder.Registers = registers) -> Store? {
    switch StoreDecoder.decode(bytes, registers: regs) {
    case .store(let width, let value, let length, let kind): return Store(width: width, value: value, length: length, kind: kind)
    case .unsupported: return nil
    }
}

private func refusal(_ bytes: [UInt8]) -> String? {
    switch StoreDecoder.decode(bytes, registers: registers) {
    case .store: return nil
    case .unsupported(let reason): return reason.description
    }
}

final class StoreDecoderTests: XCTestCase {
    // MARK: lengths of every addressing form

    func testMovRegisterLengthsForEveryAddressingForm() {
        let cases: [([UInt8], Int, String)] = [
            ([0x89, 0x03], 2, "mov [ebx], eax"),
            ([0x89, 0x43, 0x08], 3, "mov [ebx+8], eax"),
            ([0x89, 0x83, 0x00, 0x10, 0x00, 0x00], 6, "mov [ebx+0x1000], eax"),
            ([0x89, 0x04, 0x24], 3, "mov [esp], eax"),
            ([0x89, 0x44, 0x24, 0x04], 4, "mov [esp+4], eax"),
            ([0x89, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00], 7, "mov [esp+0x100], eax"),
            ([0x89, 0x04, 0x8D, 0x00, 0x00, 0x10, 0x00], 7, "mov [ecx*4+0x100000], eax (SIB base 5, mod 0)"),
            ([0x89, 0x04, 0x25, 0x00, 0x10, 0x80, 0xC0], 7, "mov [0xc0801000], eax (SIB, no base, no index)"),
            ([0x89, 0x05, 0x00, 0x10, 0x80, 0xC0], 6, "mov [0xc0801000], eax (mod 0 rm 5)"),
            ([0x89, 0x45, 0x00], 3, "mov [ebp+0], eax (rm 5 needs mod 1)"),
            ([0x89, 0x44, 0x8B, 0xF8], 4, "mov [ebx+ecx*4-8], eax"),
            ([0x89, 0x04, 0x8B], 3, "mov [ebx+ecx*4], eax"),
            ([0x89, 0x44, 0x8D, 0x10], 4, "mov [ebp+ecx*4+0x10], eax (SIB base 5, mod 1)"),
            ([0x89, 0x84, 0x8D, 0x00, 0x10, 0x00, 0x00], 7, "mov [ebp+ecx*4+0x1000], eax (SIB base 5, mod 2)"),
            ([0x89, 0x06], 2, "mov [esi], eax"),
            ([0x89, 0x3E], 2, "mov [esi], edi"),
        ]
        for (bytes, length, text) in cases {
            guard let store = decoded(bytes + tail) else { XCTFail("refused: \(text)"); continue }
            XCTAssertEqual(store.length, length, text)
            XCTAssertEqual(store.width, 4, text)
            XCTAssertEqual(store.kind, .plain, text)
            // Exactly the instruction's bytes also decode; one fewer is cut short.
            XCTAssertEqual(decoded(bytes)?.length, length, text)
            XCTAssertNotNil(refusal(Array(bytes.dropLast())), text)
        }
    }

    func testMovImmediateLengthsAndValues() {
        let cases: [([UInt8], Int, UInt64, String)] = [
            ([0xC7, 0x00, 0x67, 0x10, 0x20, 0x00], 6, 0x0020_1067, "mov dword [eax], 0x201067"),
            ([0xC7, 0x40, 0x08, 0x01, 0x00, 0x00, 0x80], 7, 0x8000_0001, "mov dword [eax+8], imm32"),
            ([0xC7, 0x80, 0x00, 0x10, 0x00, 0x00, 0xEF, 0xBE, 0xAD, 0xDE], 10, 0xDEAD_BEEF, "mov dword [eax+0x1000], imm32"),
            ([0xC7, 0x05, 0x00, 0x10, 0x80, 0xC0, 0x00, 0x00, 0x00, 0x00], 10, 0, "mov dword [disp32], 0"),
            ([0xC7, 0x04, 0x24, 0x78, 0x56, 0x34, 0x12], 7, 0x1234_5678, "mov dword [esp], imm32"),
            ([0xC7, 0x04, 0x25, 0x00, 0x10, 0x80, 0xC0, 0x03, 0x00, 0x00, 0x00], 11, 3, "mov dword [disp32] via SIB, imm32"),
            ([0xC7, 0x84, 0x8B, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF], 11, 0xFFFF_FFFF, "mov dword [ebx+ecx*4+0x100], imm32"),
        ]
        for (bytes, length, value, text) in cases {
            XCTAssertEqual(decoded(bytes + tail), Store(width: 4, value: value, length: length, kind: .plain), text)
            XCTAssertNotNil(refusal(Array(bytes.dropLast())), "immediate cut short: \(text)")
        }
    }

    func testCmpxchgWithAndWithoutLock() {
        // cmpxchg [ebx], ecx: ModRM 0x0B is mod 0, reg 1 (ecx), rm 3 (ebx).
        let expected = Store(width: 4, value: UInt64(registers.ecx), length: 3, kind: .cmpxchg(expected: registers.eax))
        XCTAssertEqual(decoded([0x0F, 0xB1, 0x0B] + tail), expected)
        var locked = expected
        locked.length = 4
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xB1, 0x0B] + tail), locked)
        // lock cmpxchg [esi+edx*8+0x10], edi
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xB1, 0x7C, 0xD6, 0x10] + tail),
                       Store(width: 4, value: UInt64(registers.edi), length: 6, kind: .cmpxchg(expected: registers.eax)))
    }

    func testCmpxchg8bStoresEcxEbxExpectingEdxEax() {
        let new = UInt64(registers.ecx) << 32 | UInt64(registers.ebx)
        let old = UInt64(registers.edx) << 32 | UInt64(registers.eax)
        // cmpxchg8b [esi]: ModRM 0x0E is mod 0, reg 1, rm 6.
        XCTAssertEqual(decoded([0x0F, 0xC7, 0x0E] + tail), Store(width: 8, value: new, length: 3, kind: .cmpxchg8b(expected: old)))
        // lock cmpxchg8b [edi]
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xC7, 0x0F] + tail), Store(width: 8, value: new, length: 4, kind: .cmpxchg8b(expected: old)))
        // lock cmpxchg8b [ebp+8] and [ecx*8+disp32]
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xC7, 0x4D, 0x08] + tail)?.length, 5)
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xC7, 0x0C, 0xCD, 0x00, 0x00, 0x40, 0xC0] + tail)?.length, 9)
    }

    func testXchgNamesTheRegisterThatReceivesTheOldEntry() {
        // xchg [ebx], edx: ModRM 0x13 is mod 0, reg 2, rm 3.
        XCTAssertEqual(decoded([0x87, 0x13] + tail), Store(width: 4, value: UInt64(registers.edx), length: 2, kind: .xchg(register: 2)))
        XCTAssertEqual(decoded([0xF0, 0x87, 0x13] + tail)?.length, 3)
        XCTAssertEqual(decoded([0x87, 0x44, 0x24, 0x04] + tail)?.length, 4)
    }

    func testStosdStoresEaxAndIsOneByte() {
        XCTAssertEqual(decoded([0xAB] + tail), Store(width: 4, value: UInt64(registers.eax), length: 1, kind: .plain))
        XCTAssertEqual(decoded([0x26, 0xAB] + tail)?.length, 2)
    }

    func testSegmentOverridesAreSkipped() {
        XCTAssertEqual(decoded([0x3E, 0x89, 0x03] + tail), Store(width: 4, value: UInt64(registers.eax), length: 3, kind: .plain))
        for prefix: UInt8 in [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65] {
            XCTAssertEqual(decoded([prefix, 0x89, 0x43, 0x08] + tail)?.length, 4, "prefix \(prefix)")
        }
        XCTAssertEqual(decoded([0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x89, 0x03] + tail)?.length, 8)
        XCTAssertEqual(decoded([0x64, 0xF0, 0x0F, 0xC7, 0x0E] + tail)?.length, 5)
    }

    // MARK: register sources

    func testEveryRegisterAsTheSource() {
        let values: [UInt32] = [registers.eax, registers.ecx, registers.edx, registers.ebx,
                                registers.esp, registers.ebp, registers.esi, registers.edi]
        for reg in 0..<8 {
            let modrm = UInt8(reg << 3 | 3)   // mov [ebx], reg
            XCTAssertEqual(decoded([0x89, modrm] + tail)?.value, UInt64(values[reg]), "reg \(reg)")
            XCTAssertEqual(registers[UInt8(reg)], values[reg])
        }
    }

    func testByteStoresUseTheLowAndHighByteRegisters() {
        // al, cl, dl, bl, ah, ch, dh, bh
        let expected: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x10, 0x20, 0x30, 0x40]
        for reg in 0..<8 {
            let modrm = UInt8(reg << 3 | 6)   // mov [esi], r8
            XCTAssertEqual(decoded([0x88, modrm] + tail), Store(width: 1, value: UInt64(expected[reg]), length: 2, kind: .plain), "reg \(reg)")
        }
    }

    func testRegistersFromATrapFrameUseTheInterruptedStackPointer() {
        var frame = TrapFrame()
        frame.eax = 1; frame.ecx = 2; frame.edx = 3; frame.ebx = 4
        frame.espAtPushad = 0xDEAD; frame.esp = 5; frame.ebp = 6; frame.esi = 7; frame.edi = 8
        let regs = StoreDecoder.Registers(frame)
        XCTAssertEqual(regs, StoreDecoder.Registers(eax: 1, ecx: 2, edx: 3, ebx: 4, esp: 5, ebp: 6, esi: 7, edi: 8))
        XCTAssertEqual(decoded([0x89, 0x23], regs)?.value, 5)   // mov [ebx], esp
    }

    func testAnyCollectionOfBytes() {
        let buffer: [UInt8] = [0xCC, 0xCC, 0x89, 0x43, 0x08, 0x90]
        guard case .store(_, _, let length, _) = StoreDecoder.decode(buffer[2...], registers: registers) else {
            return XCTFail("a slice must decode")
        }
        XCTAssertEqual(length, 3)
    }

    // MARK: refusals

    func testRegisterDestinationsAreRefused() {
        XCTAssertNotNil(refusal([0x89, 0xC3] + tail))                            // mov ebx, eax
        XCTAssertNotNil(refusal([0x88, 0xC3] + tail))                            // mov bl, al
        XCTAssertNotNil(refusal([0x87, 0xC3] + tail))                            // xchg ebx, eax
        XCTAssertNotNil(refusal([0xC7, 0xC0, 0x01, 0x00, 0x00, 0x00] + tail))    // mov eax, 1
        XCTAssertNotNil(refusal([0x0F, 0xB1, 0xCB] + tail))                      // cmpxchg ebx, ecx
        XCTAssertNotNil(refusal([0x0F, 0xC7, 0xC9] + tail))                      // mod 3 of 0F C7
        XCTAssertTrue(refusal([0x89, 0xC3])!.contains("register"))
    }

    func testOperandAndAddressSizePrefixesAreRefused() {
        XCTAssertTrue(refusal([0x66, 0x89, 0x03] + tail)!.contains("16-bit"))    // mov [ebx], ax
        XCTAssertNotNil(refusal([0x3E, 0x66, 0x89, 0x03] + tail))
        XCTAssertNotNil(refusal([0x66, 0xC7, 0x00, 0x01, 0x00] + tail))
        XCTAssertNotNil(refusal([0x67, 0x89, 0x07] + tail))                      // mov [bx], eax
    }

    func testRepeatedStringStoresAndLockedMovesAreRefused() {
        XCTAssertNotNil(refusal([0xF3, 0xAB] + tail))
        XCTAssertNotNil(refusal([0xF2, 0xAB] + tail))
        XCTAssertNotNil(refusal([0xF0, 0xAB] + tail))
        XCTAssertNotNil(refusal([0xF0, 0x89, 0x03] + tail))
        XCTAssertNotNil(refusal([0xF0, 0x88, 0x03] + tail))
        XCTAssertNotNil(refusal([0xF0, 0xC7, 0x00, 0x01, 0x00, 0x00, 0x00] + tail))
    }

    func testOtherOpcodesAreRefused() {
        let others: [[UInt8]] = [
            [0x90], [0x8B, 0x03], [0x01, 0x03], [0xC6, 0x00, 0x01], [0xAA], [0xA5],
            [0x0F, 0x05], [0x0F, 0xB0, 0x0B], [0x0F, 0xC7, 0x16], [0x0F, 0xC7, 0x36],
            [0xC7, 0x08, 0x00, 0x00, 0x00, 0x00],   // C7 /1 is not mov
            [0xFF, 0x03], [0x31, 0xC0],
            [0x80, 0x07, 0x01], [0x83, 0x2F, 0x01], [0x81, 0x3F, 0x01, 0x00, 0x00, 0x00],   // add, sub, cmp: no entry update
            [0x0F, 0xBA, 0x27, 0x01], [0x0F, 0xA3, 0x07],                                 // bt reads only
            [0x21, 0xC3], [0x80, 0xE3, 0xFD],                                             // and on registers
        ]
        for bytes in others { XCTAssertNotNil(refusal(bytes + tail), "\(bytes)") }
    }

    func testReadModifyWritesOfAnEntry() {
        // Linux's clear_bit(_PAGE_BIT_RW) on a UP kernel: and byte [edi], 0xfd (the fault that stopped its first fork).
        XCTAssertEqual(decoded([0x80, 0x27, 0xFD] + tail), Store(width: 1, value: 0xFD, length: 3, kind: .update(.and)))
        XCTAssertEqual(decoded([0xF0, 0x80, 0x27, 0xFD] + tail), Store(width: 1, value: 0xFD, length: 4, kind: .update(.and)), "lock and")
        XCTAssertEqual(decoded([0x80, 0x4F, 0x04, 0x20] + tail), Store(width: 1, value: 0x20, length: 4, kind: .update(.or)), "or byte [edi+4], 0x20")
        XCTAssertEqual(decoded([0x81, 0x33, 0x00, 0x00, 0x00, 0x80] + tail), Store(width: 4, value: 0x8000_0000, length: 6, kind: .update(.xor)))
        XCTAssertEqual(decoded([0x83, 0x23, 0xFD] + tail), Store(width: 4, value: 0xFFFF_FFFD, length: 3, kind: .update(.and)), "imm8 sign-extended")
        XCTAssertEqual(decoded([0x83, 0x0B, 0x02] + tail), Store(width: 4, value: 2, length: 3, kind: .update(.or)))
        XCTAssertEqual(decoded([0x09, 0x03] + tail), Store(width: 4, value: 0x1111_1001, length: 2, kind: .update(.or)), "or [ebx], eax")
        XCTAssertEqual(decoded([0x20, 0x23] + tail), Store(width: 1, value: 0x10, length: 2, kind: .update(.and)), "and [ebx], ah (eax 0x11111001)")
        XCTAssertEqual(decoded([0x31, 0x4B, 0x04] + tail), Store(width: 4, value: 0x2222_2002, length: 3, kind: .update(.xor)))
        var bits = registers
        bits.eax = 5
        XCTAssertEqual(decoded([0x0F, 0xB3, 0x07] + tail, bits), Store(width: 4, value: 5, length: 3, kind: .update(.bitReset)), "btr [edi], eax")
        XCTAssertEqual(decoded([0xF0, 0x0F, 0xAB, 0x07] + tail, bits), Store(width: 4, value: 5, length: 4, kind: .update(.bitSet)))
        XCTAssertEqual(decoded([0x0F, 0xBB, 0x07] + tail, bits), Store(width: 4, value: 5, length: 3, kind: .update(.bitComplement)))
        XCTAssertEqual(decoded([0x0F, 0xBA, 0x37, 0x25] + tail), Store(width: 4, value: 5, length: 4, kind: .update(.bitReset)), "btr [edi], 37: bit 37 mod 32")
        XCTAssertEqual(decoded([0x0F, 0xBA, 0x2F, 0x01] + tail), Store(width: 4, value: 1, length: 4, kind: .update(.bitSet)))
        XCTAssertTrue(refusal([0x0F, 0xB3, 0x07] + tail)!.contains("bit-string"), "eax 0x11111001 names a bit far beyond the dword")
        bits.eax = 0xFFFF_FFFF
        XCTAssertTrue(refusal([0x0F, 0xAB, 0x07] + tail)!.contains("bit-string"), "a negative bit number lies before the dword")
        for cut: [UInt8] in [[0x80, 0x27], [0x81, 0x33, 0x00, 0x00], [0x83, 0x23], [0x0F, 0xBA, 0x37], [0x0F, 0xB3]] {
            XCTAssertTrue(refusal(cut)?.contains("cut short") ?? false, "\(cut)")
        }
    }

    func testReadModifyWriteResultsAndFlags() {
        typealias Op = StoreDecoder.UpdateOperation
        let cf = Op.carry, pf = Op.parity, zf = Op.zero, sf = Op.sign, of = Op.overflow
        // and byte 0x67 with 0xfd: 0x65 (RW cleared), CF/OF 0, ZF 0, SF 0, PF: 0x65 has 4 bits set.
        var r = Op.and.apply(to: 0x67, operand: 0xFD, width: 1)
        XCTAssertEqual(r.value, 0x65); XCTAssertEqual(r.affected, cf | pf | zf | sf | of); XCTAssertEqual(r.flags, pf)
        r = Op.and.apply(to: 0x02, operand: 0xFD, width: 1)
        XCTAssertEqual(r.value, 0); XCTAssertEqual(r.flags, zf | pf)
        r = Op.or.apply(to: 0x0000_0001, operand: 0x8000_0000, width: 4)
        XCTAssertEqual(r.value, 0x8000_0001); XCTAssertEqual(r.flags, sf)
        r = Op.xor.apply(to: 0x1FF, operand: 0x100, width: 1)
        XCTAssertEqual(r.value, 0xFF, "a byte operation sees only the byte"); XCTAssertEqual(r.flags, sf | pf)
        r = Op.bitReset.apply(to: 0x67, operand: 5, width: 4)
        XCTAssertEqual(r.value, 0x47); XCTAssertEqual(r.affected, cf); XCTAssertEqual(r.flags, cf, "test_and_clear_bit(_PAGE_BIT_ACCESSED) sees it was set")
        r = Op.bitReset.apply(to: 0x47, operand: 5, width: 4)
        XCTAssertEqual(r.value, 0x47); XCTAssertEqual(r.flags, 0)
        r = Op.bitSet.apply(to: 0, operand: 31, width: 4)
        XCTAssertEqual(r.value, 0x8000_0000); XCTAssertEqual(r.flags, 0)
        r = Op.bitComplement.apply(to: 0x8000_0000, operand: 31, width: 4)
        XCTAssertEqual(r.value, 0); XCTAssertEqual(r.flags, cf)
    }

    func testTruncatedInstructionsAreRefused() {
        let cutShort: [[UInt8]] = [
            [], [0x3E], [0xF0], [0x0F], [0xF0, 0x0F], [0x89], [0x89, 0x04], [0x89, 0x43],
            [0x89, 0x83, 0x00, 0x10, 0x00], [0x89, 0x05, 0x00], [0x89, 0x04, 0x25, 0x00, 0x10],
            [0xC7, 0x00, 0x01, 0x02, 0x03], [0xC7, 0x40, 0x08], [0x0F, 0xC7], [0x0F, 0xB1],
        ]
        for bytes in cutShort {
            XCTAssertTrue(refusal(bytes)?.contains("cut short") ?? false, "\(bytes)")
        }
    }

    func testTheFifteenByteLimit() {
        let thirteen = [UInt8](repeating: 0x3E, count: 13)
        XCTAssertEqual(decoded(thirteen + [0x89, 0x03] + tail)?.length, 15)
        XCTAssertTrue(refusal(thirteen + [0x3E, 0x89, 0x03] + tail)!.contains("15 bytes"))
        // A long displacement and immediate push a prefixed C7 past the limit.
        let prefixes = [UInt8](repeating: 0x26, count: 5)
        XCTAssertNotNil(refusal(prefixes + [0xC7, 0x84, 0x8B, 0, 0, 0, 0, 1, 0, 0, 0] + tail))
        XCTAssertEqual(decoded(Array(prefixes.dropLast()) + [0xC7, 0x84, 0x8B, 0, 0, 0, 0, 1, 0, 0, 0] + tail)?.length, 15)
    }

    // MARK: every ModRM and SIB byte against the manual's table

    func testEveryModRMAndSIBAgainstIntelsTable() {
        for modrm in 0...255 {
            let mod = modrm >> 6, rm = modrm & 7
            for sib in 0...255 {
                let bytes: [UInt8] = [0x89, UInt8(modrm), UInt8(sib), 0, 0, 0, 0, 0, 0, 0]
                if mod == 3 {
                    XCTAssertNil(decoded(bytes), "modrm \(modrm)")
                    continue
                }
                // Intel SDM vol. 2, tables 2-2 and 2-3.
                let sibBytes = rm == 4 ? 1 : 0
                let disp: Int
                switch (mod, rm) {
                case (0, 5): disp = 4
                case (0, 4): disp = sib & 7 == 5 ? 4 : 0
                case (0, _): disp = 0
                case (1, _): disp = 1
                default: disp = 4
                }
                XCTAssertEqual(decoded(bytes)?.length, 2 + sibBytes + disp, "modrm \(modrm) sib \(sib)")
                if rm != 4 { break }   // the SIB byte only matters when there is one
            }
        }
    }
}
