// NASMIncludeTests.swift: the ABI facts and the address map reach NASM only through the includes
// Scripts/gen-abi-inc.py generates, and every trap stub (hypervisor and GuestKit) follows the one
// error-code list. It runs the real generator and NASM's preprocessor; it never edits a source.

import Foundation
import XCTest
@testable import ApusCore
import PVABI

final class NASMIncludeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The generator's output in a fresh directory, as name -> value text.
    func generated() throws -> (dir: URL, defines: [String: String]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("apus-gen-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "Scripts/gen-abi-inc.py", dir.path]
        process.currentDirectoryURL = Self.root
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "Scripts/gen-abi-inc.py failed")
        var defines: [String: String] = [:]
        for file in ["abi.inc", "layout.inc"] {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("%define ") {
                let code = line.split(separator: ";", maxSplits: 1)[0].dropFirst("%define ".count)
                guard let space = code.firstIndex(of: " ") else { continue }
                defines[String(code[..<space])] = code[space...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (dir, defines)
    }

    func number(_ text: String?) -> UInt64? {
        guard let text else { return nil }
        return text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }

    /// The architecture's list, written out from the Intel SDM (vol. 3A, table 6-1) and AMD APM
    /// (#VC 29): the only place a test states it; everything else is compared with PVABI's copy.
    func testErrorCodeVectorsAreTheArchitecturesList() {
        XCTAssertEqual(ExceptionVector.withErrorCode, [8, 10, 11, 12, 13, 14, 17, 21, 29, 30])
        XCTAssertTrue(ExceptionVector.pushesErrorCode(21))   // #CP
        XCTAssertFalse(ExceptionVector.pushesErrorCode(9))
        XCTAssertFalse(ExceptionVector.pushesErrorCode(0x82))
        // The bit mask the trap path tests is the list, vector for vector (and nothing past 31).
        for vector: UInt32 in 0..<300 {
            XCTAssertEqual(ExceptionVector.pushesErrorCode(vector), ExceptionVector.withErrorCode.contains(vector), "vector \(vector)")
        }
    }

    func testGeneratedIncludesCopyTheSwiftConstants() throws {
        let (dir, d) = try generated()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(number(d["DOMID_SELF"]), UInt64(SpecialDomainID.selfID))
        XCTAssertEqual(number(d["HYPERCALL_VECTOR"]), UInt64(Hypercall.trapVector))
        XCTAssertEqual(number(d["IRET_VECTOR"]), UInt64(Hypercall.iretTrapVector))
        XCTAssertEqual(number(d["HYPERCALL_EVTCHN_OP"]), UInt64(Hypercall.eventChannelOp.rawValue))
        XCTAssertEqual(number(d["EVTCHNOP_SEND"]), UInt64(EventChannelOp.send.rawValue))
        XCTAssertEqual(Hypercall.eventChannelOpNumber, Hypercall.eventChannelOp.rawValue)
        XCTAssertEqual(Hypercall.eventChannelSendCommand, EventChannelOp.send.rawValue)
        XCTAssertEqual(number(d["HYPERCALL_UPDATE_VA_MAPPING"]), UInt64(Hypercall.updateVAMapping.rawValue))
        XCTAssertEqual(Hypercall.updateVAMappingNumber, Hypercall.updateVAMapping.rawValue)
        XCTAssertEqual(number(d["HYPERVISOR_LDT_SEL"]), UInt64(Selector.hypervisorLDT))
        XCTAssertEqual(number(d["FLAT_RING1_CS"]), UInt64(Selector.flatRing1CS))
        XCTAssertEqual(number(d["FLAT_RING1_DS"]), UInt64(Selector.flatRing1DS))
        XCTAssertEqual(number(d["FLAT_RING1_SS"]), UInt64(Selector.flatRing1SS))
        XCTAssertEqual(number(d["FLAT_RING3_CS"]), UInt64(Selector.flatRing3CS))
        XCTAssertEqual(number(d["FLAT_RING3_DS"]), UInt64(Selector.flatRing3DS))
        XCTAssertEqual(number(d["FLAT_RING3_SS"]), UInt64(Selector.flatRing3SS))
        XCTAssertEqual(number(d["KERNEL_VIRT_OFFSET"]), UInt64(AddressMap.directMapStart))
        XCTAssertEqual(number(d["KERNEL_PHYS_BASE"]), UInt64(AddressMap.imagePhysicalBase))
        XCTAssertEqual(number(d["DIRECT_MAP_SIZE"]), UInt64(AddressMap.directMapSize))
        XCTAssertEqual(number(d["BOOT_STACK_SIZE"]), UInt64(AddressMap.bootStackSize))
        XCTAssertEqual(number(d["HYPERVISOR_CS"]), UInt64(Selector.hypervisorCS))
        XCTAssertEqual(number(d["HYPERVISOR_DS"]), UInt64(Selector.hypervisorDS))
        let list = d["ERROR_CODE_VECTORS"]?.split(separator: ",").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(list, ExceptionVector.withErrorCode)
    }

    /// Which stub pushes a dummy error code, read from NASM's own expansion of the stub macro.
    func stubsPushingADummy(file: String, label: String, includes: [String]) throws -> [UInt32: Bool] {
        let (dir, _) = try generated()
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nasm", "-E"] + includes.flatMap { ["-I", $0] } + ["-I", dir.path + "/", file]
        process.currentDirectoryURL = Self.root
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "nasm -E \(file) failed (is nasm installed? `make deps`)")
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("%line") }
        var result: [UInt32: Bool] = [:]
        for (i, line) in lines.enumerated() where line.hasPrefix(label) && line.hasSuffix(":") && i + 1 < lines.count {
            guard let vector = UInt32(line.dropFirst(label.count).dropLast()) else { continue }
            result[vector] = lines[i + 1] == "push dword 0"
        }
        return result
    }

    func testHypervisorStubsFollowTheErrorCodeList() throws {
        let stubs = try stubsPushingADummy(file: "Boot/traps.asm", label: "trap_stub_", includes: ["Boot/"])
        XCTAssertEqual(stubs.count, 256)
        for vector in UInt32(0)..<256 {
            XCTAssertEqual(stubs[vector], !ExceptionVector.pushesErrorCode(vector), "Boot/traps.asm stub \(vector)")
        }
    }

    /// A guest stub that pushes a dummy where the bounce frame already holds an error code
    /// (or the reverse) misaligns the whole frame: #CP (21), #VC (29), #SX (30) included.
    func testGuestKitStubsFollowTheErrorCodeList() throws {
        let stubs = try stubsPushingADummy(file: "Sources/GuestKit/Asm/traps.asm", label: "guest_trap_", includes: [])
        XCTAssertEqual(stubs.count, 33)
        for vector in Array(UInt32(0)..<32) + [0x80] {
            XCTAssertEqual(stubs[vector], !ExceptionVector.pushesErrorCode(vector), "GuestKit traps.asm stub \(vector)")
        }
    }

    /// No assembly file states a selector, DOMID_SELF or the hypercall vector as a number: they come
    /// from abi.inc. (Boot/ may name the boot GDT's own 0x08/0x10, which are not ABI facts.)
    func testNoAssemblyRestatesAnABIFact() throws {
        let facts = ["0x82", "0xe019", "0xe021", "0xe02b", "0xe033", "0xe008", "0xe010", "0xe048", "0x7ff0"]
        let dirs = ["Boot", "Sources/GuestKit/Asm", "Sources/Dom0/Asm"]
        var checked = 0
        for dir in dirs {
            let url = Self.root.appendingPathComponent(dir)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".asm") || name.hasSuffix(".inc") {
                let text = try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8).lowercased()
                checked += 1
                for line in text.split(separator: "\n") {
                    let code = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                    let words = code.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
                    for fact in facts {
                        XCTAssertFalse(words.contains { $0 == Substring(fact) }, "\(dir)/\(name): '\(line)' restates \(fact)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 5)
    }

    /// The generator copies literals only: a constant it cannot read (an expression, or a name
    /// that moved) stops the build instead of producing a guess.
    func testGeneratorRefusesWhatItCannotCopy() throws {
        let fm = FileManager.default
        let tree = fm.temporaryDirectory.appendingPathComponent("apus-gen-tree-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: tree) }
        for dir in ["Sources/PVABI", "Sources/ApusCore"] {
            try fm.createDirectory(at: tree.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        for file in ["Sources/PVABI/EventChannelOps.swift", "Sources/PVABI/Exceptions.swift",
                     "Sources/PVABI/Selectors.swift", "Sources/ApusCore/AddressMap.swift"] {
            try fm.copyItem(at: Self.root.appendingPathComponent(file), to: tree.appendingPathComponent(file))
        }
        func generate() throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "Scripts/gen-abi-inc.py", "--root", tree.path, tree.appendingPathComponent("out").path]
            process.currentDirectoryURL = Self.root
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        XCTAssertEqual(try generate(), 0, "an unchanged copy of the sources generates")
        let selectors = tree.appendingPathComponent("Sources/PVABI/Selectors.swift")
        let text = try String(contentsOf: selectors, encoding: .utf8)
        let broken = text.replacingOccurrences(of: "hypervisorLDT: UInt16 = 0xe048", with: "hypervisorLDT: UInt16 = tss + 8")
        XCTAssertNotEqual(broken, text)
        try broken.write(to: selectors, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try generate(), 0, "an expression is refused")
        try text.replacingOccurrences(of: "hypervisorLDT", with: "ldtSelector").write(to: selectors, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try generate(), 0, "a missing constant is refused")
    }
}
