// BootOptionsTests.swift: the hypervisor command line: scenarios, dom0_mem sizes, junk.

import XCTest
@testable import ApusCore

final class BootOptionsTests: XCTestCase {
    private func parse(_ s: String) -> BootOptions { BootOptions.parse(Array(s.utf8)) }

    func testScenarioNames() {
        XCTAssertEqual(parse("apus.test=boot").scenario, .boot)
        XCTAssertEqual(parse("  apus.test=exceptions  ").scenario, .exceptions)
        XCTAssertNil(parse("").scenario)
        let bad = parse("apus.test=nosuch")
        XCTAssertNil(bad.scenario)
        XCTAssertEqual(bad.unknownScenario, Array("nosuch".utf8))
        for s in TestScenario.allCases {
            XCTAssertEqual(TestScenario(name: Array("\(s.name)".utf8)), s)
        }
    }

    func testDom0MemorySizes() {
        XCTAssertEqual(parse("dom0_mem=64M").dom0MemoryBytes, 64 << 20)
        XCTAssertEqual(parse("dom0_mem=65536K").dom0MemoryBytes, 64 << 20)
        XCTAssertEqual(parse("dom0_mem=1G").dom0MemoryBytes, 1 << 30)
        XCTAssertEqual(parse("dom0_mem=4096").dom0MemoryBytes, 4096)
        XCTAssertNil(parse("dom0_mem=").dom0MemoryBytes)
        XCTAssertNil(parse("dom0_mem=12Q").dom0MemoryBytes)
        XCTAssertNil(parse("dom0_mem=M").dom0MemoryBytes)
        XCTAssertNil(parse("dom0_mem=99999999999999999999999M").dom0MemoryBytes)
    }

    func testUnknownWordsAreCountedNotTrusted() {
        let o = parse("quiet console=com1 apus.test=boot noreboot")
        XCTAssertEqual(o.scenario, .boot)
        XCTAssertEqual(o.unknownWords, 3)
    }
}
