// HardwareConfinementTests.swift: reads the hypervisor's sources and checks that hardware writes
// and asm declarations stay in Sources/Apus/Arch, the M2P has one writer and scenario checks stay
// in Sources/Apus/Test. It reads text only; it must never pass a file it could not read.

import Foundation
import XCTest

final class HardwareConfinementTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Code lines (comments dropped) of every Swift file under Sources/Apus, by path from the root.
    static func sources() throws -> [(path: String, lines: [String])] {
        let base = root.appendingPathComponent("Sources/Apus")
        guard let walk = FileManager.default.enumerator(atPath: base.path) else { throw CocoaError(.fileReadUnknown) }
        var files: [(String, [String])] = []
        for case let relative as String in walk where relative.hasSuffix(".swift") {
            let text = try String(contentsOf: base.appendingPathComponent(relative), encoding: .utf8)
            let code = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let s = String(line)
                guard let comment = s.range(of: "//") else { return s }
                return String(s[..<comment.lowerBound])
            }
            files.append(("Sources/Apus/" + relative, code))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// Every (file, pattern) hit outside the folders `allowedUnder`, minus the listed exceptions;
    /// an exception that no longer matches is reported too, so the list only shrinks.
    func assertConfined(_ patterns: [String], allowedUnder: [String], except: [(String, String)],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let files = try Self.sources()
        XCTAssertGreaterThan(files.count, 30, "Sources/Apus was not read", file: file, line: line)
        var seen = Set<String>()
        for (path, lines) in files where !allowedUnder.contains(where: { path.hasPrefix($0) }) {
            for (n, code) in lines.enumerated() {
                for p in patterns where code.contains(p) {
                    if except.contains(where: { $0.0 == path && $0.1 == p }) { seen.insert(path + " " + p); continue }
                    XCTFail("\(path):\(n + 1) uses \(p) outside \(allowedUnder): \(code)", file: file, line: line)
                }
            }
        }
        for (path, p) in except where !seen.contains(path + " " + p) {
            XCTFail("\(path) no longer uses \(p): remove it from the exceptions", file: file, line: line)
        }
    }

    /// CR0/CR3/LDTR/GDTR/IDTR/TR writes, invlpg, wrmsr, port I/O, guest entry and every asm
    /// declaration live in Arch, behind named functions.
    func testHardwareWritesStayInArch() throws {
        try assertConfined(["@_extern(", "cpu_write_", "cpu_load_", "cpu_invlpg", "cpu_wrmsr", "port_out", "port_in", "enter_guest("],
                           allowedUnder: ["Sources/Apus/Arch/"],
                           except: [])
    }

    /// MachineToPhysicalTable is the only code that makes a pointer into the writable M2P.
    func testOneM2PWriter() throws {
        try assertConfined(["at: AddressMap.m2pWritableStart"],
                           allowedUnder: ["Sources/Apus/Arch/MachineToPhysicalTable.swift"],
                           except: [])
    }

    /// Production paths ask TestHooks; only Sources/Apus/Test looks at the scenario itself.
    func testScenarioChecksStayInTest() throws {
        try assertConfined(["TestVerdict.", "scenario =="],
                           allowedUnder: ["Sources/Apus/Test/"],
                           except: [])
    }

    /// Only RunningGuestMemory calls the guarded copy routines, and only with a GuestRange: no
    /// other code can hand them a guest address.
    func testOneGuestMemoryPath() throws {
        try assertConfined(["GuestCopy.", "guest_copy_"],
                           allowedUnder: ["Sources/Apus/Domain/GuestMemory.swift", "Sources/Apus/Arch/GuestCopy.swift"],
                           except: [])
    }
}
