// TrapFrameTests.swift: pins TrapFrame to the push order of Boot/traps.asm, byte by byte.

import XCTest
@testable import ApusCore

final class TrapFrameTests: XCTestCase {
    func testEveryFieldSitsWhereTheAssemblyPushesIt() {
        let expected: [(PartialKeyPath<TrapFrame>, Int)] = [
            (\TrapFrame.edi, 0), (\TrapFrame.esi, 4), (\TrapFrame.ebp, 8), (\TrapFrame.espAtPushad, 12),
            (\TrapFrame.ebx, 16), (\TrapFrame.edx, 20), (\TrapFrame.ecx, 24), (\TrapFrame.eax, 28),
            (\TrapFrame.gs, 32), (\TrapFrame.fs, 36), (\TrapFrame.es, 40), (\TrapFrame.ds, 44),
            (\TrapFrame.vector, 48), (\TrapFrame.errorCode, 52), (\TrapFrame.eip, 56), (\TrapFrame.cs, 60),
            (\TrapFrame.eflags, 64), (\TrapFrame.esp, 68), (\TrapFrame.ss, 72),
        ]
        for (path, offset) in expected {
            XCTAssertEqual(MemoryLayout<TrapFrame>.offset(of: path), offset)
        }
        XCTAssertEqual(MemoryLayout<TrapFrame>.size, 76)
    }

    func testRingComesFromTheSavedCS() {
        var f = TrapFrame()
        f.cs = 0xe008
        XCTAssertEqual(f.ring, 0); XCTAssertFalse(f.fromGuest)
        f.cs = 0xe019
        XCTAssertEqual(f.ring, 1); XCTAssertTrue(f.fromGuest)
        f.cs = 0xe02b
        XCTAssertEqual(f.ring, 3)
    }

    func testExceptionMnemonics() {
        XCTAssertEqual("\(ExceptionName.mnemonic(14))", "#PF")
        XCTAssertEqual("\(ExceptionName.mnemonic(13))", "#GP")
    }

    /// Emulated instructions name registers by their ModRM number: each maps to its own field.
    func testRegistersByModRMNumber() {
        var f = TrapFrame()
        for n: UInt8 in 0..<8 { f.setRegister(n, 0x1000 + UInt32(n)) }
        XCTAssertEqual([f.eax, f.ecx, f.edx, f.ebx, f.esp, f.ebp, f.esi, f.edi], (0..<8).map { 0x1000 + UInt32($0) })
        XCTAssertEqual(f.espAtPushad, 0, "ESP is the interrupted guest's, not pushad's slot")
        for n: UInt8 in 0..<8 { XCTAssertEqual(f.register(n), 0x1000 + UInt32(n)) }
        XCTAssertEqual(f.register(8 + 3), f.ebx, "only the low three bits name a register")
    }
}
