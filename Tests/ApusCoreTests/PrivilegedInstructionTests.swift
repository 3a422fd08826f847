// PrivilegedInstructionTests.swift: the decoder of the ring-1 instructions emulated on #GP (port I/O,
// ins/outs with their prefixes, control- and debug-register moves, clts, wbinvd, rdmsr/wrmsr): each form with its length, the bytes
// Linux 5.4 runs at boot, and what is not emulated. Expected values are written out by hand from the Intel SDM's opcode tables.

import XCTest
@testable import ApusCore

final class PrivilegedInstructionTests: XCTestCase {
    func decode(_ bytes: [UInt8]) -> (PrivilegedInstruction, Int)? { PrivilegedInstruction.decode(bytes) }

    func testPortIO() {
        XCTAssertEqual(decode([0xE4, 0x61])?.0, .portIn(size: 1, port: 0x61))      // in al, 0x61 (Linux's PIT calibration)
        XCTAssertEqual(decode([0xE4, 0x61])?.1, 2)
        XCTAssertEqual(decode([0xE5, 0x40])?.0, .portIn(size: 4, port: 0x40))
        XCTAssertEqual(decode([0x66, 0xE5, 0x40])?.0, .portIn(size: 2, port: 0x40))
        XCTAssertEqual(decode([0x66, 0xE5, 0x40])?.1, 3)
        XCTAssertEqual(decode([0xE6, 0x43])?.0, .portOut(size: 1, port: 0x43))
        XCTAssertEqual(decode([0xE7, 0x43])?.0, .portOut(size: 4, port: 0x43))
        XCTAssertEqual(decode([0xEC])?.0, .portIn(size: 1, port: nil))
        XCTAssertEqual(decode([0xFA])?.0, .clearInterrupts)
        XCTAssertEqual(decode([0xFB, 0x90])?.1, 1)
        XCTAssertEqual(decode([0xFB])?.0, .setInterrupts)
        XCTAssertEqual(decode([0xEC])?.1, 1)
        XCTAssertEqual(decode([0xED])?.0, .portIn(size: 4, port: nil))
        XCTAssertEqual(decode([0x66, 0xEF])?.0, .portOut(size: 2, port: nil))
        XCTAssertEqual(decode([0xEE])?.0, .portOut(size: 1, port: nil))
    }

    func testControlRegisters() {
        XCTAssertEqual(decode([0x0F, 0x20, 0xC0])?.0, .readControl(cr: 0, to: 0))   // mov eax, cr0 (xen_read_cr0)
        XCTAssertEqual(decode([0x0F, 0x20, 0xC0])?.1, 3)
        XCTAssertEqual(decode([0x0F, 0x20, 0xD3])?.0, .readControl(cr: 2, to: 3))   // mov ebx, cr2
        XCTAssertEqual(decode([0x0F, 0x20, 0xE7])?.0, .readControl(cr: 4, to: 7))   // mov edi, cr4
        XCTAssertEqual(decode([0x0F, 0x22, 0xD8])?.0, .writeControl(cr: 3, from: 0)) // mov cr3, eax
        XCTAssertNil(decode([0x0F, 0x20, 0xC8]), "CR1 does not exist")
        XCTAssertNil(decode([0x0F, 0x22, 0xF8]), "CR7 does not exist")
    }

    func testDebugRegisters() {
        XCTAssertEqual(decode([0x0F, 0x21, 0xC0])?.0, .readDebug(dr: 0, to: 0))     // mov eax, dr0
        XCTAssertEqual(decode([0x0F, 0x21, 0xC0])?.1, 3)
        XCTAssertEqual(decode([0x0F, 0x21, 0xF1])?.0, .readDebug(dr: 6, to: 1))     // mov ecx, dr6
        XCTAssertEqual(decode([0x0F, 0x21, 0xFB])?.0, .readDebug(dr: 7, to: 3))     // mov ebx, dr7
        XCTAssertEqual(decode([0x0F, 0x23, 0xF8])?.0, .writeDebug(dr: 7, from: 0))  // mov dr7, eax
        XCTAssertEqual(decode([0x0F, 0x23, 0xCA])?.0, .writeDebug(dr: 1, from: 2))  // mov dr1, edx
        XCTAssertEqual(decode([0x0F, 0x23, 0x27])?.0, .writeDebug(dr: 4, from: 7), "mod is ignored, as the CPU does")
        XCTAssertNil(decode([0x0F, 0x23]), "cut short before ModRM")
        XCTAssertNil(decode([0x66, 0x0F, 0x21, 0xC0]))
    }

    func testOtherPrivilegedForms() {
        XCTAssertEqual(decode([0x0F, 0x06])?.0, .clearTaskSwitched)
        XCTAssertEqual(decode([0x0F, 0x06])?.1, 2)
        XCTAssertEqual(decode([0x0F, 0x09])?.0, .writeBackInvalidate)
        XCTAssertEqual(decode([0x0F, 0x32, 0x90])?.0, .readMSR)
        XCTAssertEqual(decode([0x0F, 0x32])?.1, 2)
        XCTAssertEqual(decode([0x0F, 0x30])?.0, .writeMSR)
        XCTAssertNil(decode([0x0F, 0x08]), "invd is not emulated")
        XCTAssertNil(decode([0x0F, 0x01, 0xF8]), "swapgs and the 0F 01 group are not emulated")
        XCTAssertNil(decode([0x0F, 0x31]), "rdtsc does not fault")
        XCTAssertNil(decode([0x66, 0x0F, 0x32]))
    }

    func testStringPortIO() {
        // Every ins/outs encoding: 6C insb, 6D insd (66: insw), 6E outsb, 6F outsd (66: outsw).
        XCTAssertEqual(decode([0x6C])?.0, .stringIn(size: 1, rep: false))
        XCTAssertEqual(decode([0x6C])?.1, 1)
        XCTAssertEqual(decode([0x6D])?.0, .stringIn(size: 4, rep: false))
        XCTAssertEqual(decode([0x66, 0x6D])?.0, .stringIn(size: 2, rep: false))
        XCTAssertEqual(decode([0x6E])?.0, .stringOut(size: 1, segment: .ds, rep: false))
        XCTAssertEqual(decode([0x6F])?.0, .stringOut(size: 4, segment: .ds, rep: false))
        XCTAssertEqual(decode([0x66, 0x6F])?.0, .stringOut(size: 2, segment: .ds, rep: false))
        // rep (F3, and F2 which ins/outs treat the same), in any order with 66 and an override.
        XCTAssertEqual(decode([0xF3, 0x6C])?.0, .stringIn(size: 1, rep: true))
        XCTAssertEqual(decode([0xF3, 0x6C])?.1, 2)
        XCTAssertEqual(decode([0xF2, 0x6D])?.0, .stringIn(size: 4, rep: true))
        XCTAssertEqual(decode([0x66, 0xF3, 0x6D])?.0, .stringIn(size: 2, rep: true))
        XCTAssertEqual(decode([0xF3, 0x66, 0x6D])?.0, .stringIn(size: 2, rep: true))
        XCTAssertEqual(decode([0xF3, 0x6E])?.0, .stringOut(size: 1, segment: .ds, rep: true))
        XCTAssertEqual(decode([0xF3, 0x66, 0x6F])?.0, .stringOut(size: 2, segment: .ds, rep: true))
        XCTAssertEqual(decode([0x66, 0xF3, 0x64, 0x6F])?.0, .stringOut(size: 2, segment: .fs, rep: true))
        XCTAssertEqual(decode([0x66, 0xF3, 0x64, 0x6F])?.1, 4)
        // Each segment override on outs; the last one counts. ins always writes ES:EDI.
        let overrides: [(UInt8, SegmentRegister)] = [(0x26, .es), (0x2E, .cs), (0x36, .ss), (0x3E, .ds), (0x64, .fs), (0x65, .gs)]
        for (prefix, segment) in overrides {
            XCTAssertEqual(decode([prefix, 0x6E])?.0, .stringOut(size: 1, segment: segment, rep: false))
            XCTAssertEqual(decode([prefix, 0x6C])?.0, .stringIn(size: 1, rep: false))
        }
        XCTAssertEqual(decode([0x64, 0x65, 0x6E])?.0, .stringOut(size: 1, segment: .gs, rep: false))
        // 14 prefixes and the opcode are the CPU's 15 bytes; one more is not an instruction.
        XCTAssertEqual(decode([UInt8](repeating: 0x3E, count: 14) + [0x6E])?.1, 15)
        XCTAssertNil(decode([UInt8](repeating: 0x3E, count: 15) + [0x6E]))
        // 16-bit addressing (67) and lock are not emulated; a rep or segment prefix elsewhere neither.
        XCTAssertNil(decode([0x67, 0x6C]))
        XCTAssertNil(decode([0xF3, 0x67, 0x6E]))
        XCTAssertNil(decode([0xF0, 0x6C]))
        XCTAssertNil(decode([0xF3]))
        XCTAssertNil(decode([0x64, 0xE4, 0x80]))
        XCTAssertNil(decode([0x66, 0x66, 0xED]))
    }

    func testNotEmulatedOrCutShort() {
        let cases: [[UInt8]] = [[], [0x66], [0xE4], [0x0F], [0x0F, 0x20], [0xF4], [0x0F, 0x33], [0x0F, 0x20, 0xC8], [0xF3, 0xEC], [0x2E, 0xEC], [0x66, 0x0F, 0x20, 0xC0], [0xF3, 0xFA]]
        for bytes in cases {
            XCTAssertNil(decode(bytes), "\(bytes)")
        }
    }

    func testUnreadablePortsReadAsAllOnes() {
        XCTAssertEqual(PrivilegedInstruction.unreadablePortValue(size: 1), 0xFF)
        XCTAssertEqual(PrivilegedInstruction.unreadablePortValue(size: 2), 0xFFFF)
        XCTAssertEqual(PrivilegedInstruction.unreadablePortValue(size: 4), 0xFFFF_FFFF)
    }

    func testRandomBytesNeverTrapAndLengthsFit() {
        var rng = SplitMix64(seed: 0x0D)
        for _ in 0..<200_000 {
            let n = Int(rng.next() % 6)
            let bytes = (0..<n).map { _ in [0x66, 0x0F, 0x20, 0x21, 0x22, 0x23, 0x30, 0x32, 0x06, 0x09, 0xE4, 0xEC, 0xEF,
                                            0x6C, 0x6F, 0xF3, 0x64, 0x67,
                                            UInt8(truncatingIfNeeded: rng.next())][Int(rng.next() % 19)] }
            if let (_, length) = decode(bytes) { XCTAssertTrue(length >= 1 && length <= bytes.count && length <= 15) }
        }
    }
}
