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
        let o = parse("quiet console=com1 apus.test=boot noreboot nosuchflag")
        XCTAssertEqual(o.scenario, .boot)
        XCTAssertEqual(o.unknownWords, 3)
        XCTAssertTrue(o.noReboot)
    }

    func testLogLevels() {
        let o = parse("apus.test=shell loglvl=warning guest_loglvl=error")
        XCTAssertEqual(o.scenario, .shell)
        XCTAssertEqual(o.logLevel, .warning)
        XCTAssertEqual(o.guestLogLevel, .error)
        XCTAssertEqual(o.unknownWords, 0)
        XCTAssertEqual(parse("").logLevel, .debug)
        XCTAssertEqual(parse("loglvl=all").logLevel, .debug)
        XCTAssertEqual(parse("loglvl=none").logLevel, LogLevel.none)
        XCTAssertEqual(parse("loglvl=info/warning").logLevel, .info)
        for bad in ["loglvl=loud", "loglvl=", "loglvl=info/", "loglvl=info/x", "loglvl=info/debug/all", "guest_loglvl=WARNING"] {
            let o = parse(bad)
            XCTAssertEqual(o.logLevel, .debug, bad)
            XCTAssertEqual(o.guestLogLevel, .debug, bad)
            XCTAssertEqual(o.unknownWords, 1, bad)
        }
    }

    func testLevelThresholds() {
        XCTAssertTrue(LogLevel.error.shown(at: .warning))
        XCTAssertTrue(LogLevel.warning.shown(at: .warning))
        XCTAssertFalse(LogLevel.info.shown(at: .warning))
        XCTAssertFalse(LogLevel.debug.shown(at: .info))
        XCTAssertFalse(LogLevel.error.shown(at: .none))
        XCTAssertFalse(LogLevel.none.shown(at: .debug))
        for a in LogLevel.allCases { for b in LogLevel.allCases where a != .none {
            XCTAssertEqual(a.shown(at: b), a.rawValue <= b.rawValue)
        } }
    }

    func testBooleanOptions() {
        XCTAssertFalse(parse("").consoleToRing)
        XCTAssertFalse(parse("").noReboot)
        XCTAssertTrue(parse("console_to_ring").consoleToRing)
        XCTAssertTrue(parse("noreboot").noReboot)
        XCTAssertTrue(parse("noreboot=yes console_to_ring=on").noReboot)
        XCTAssertFalse(parse("console_to_ring no-console_to_ring").consoleToRing)
        XCTAssertFalse(parse("noreboot=0").noReboot)
        let junk = parse("noreboot=maybe console_to_ringx no-")
        XCTAssertFalse(junk.noReboot)
        XCTAssertFalse(junk.consoleToRing)
        XCTAssertEqual(junk.unknownWords, 3)
    }
}
